/* execve: argv and envp, pid kept, errors (ENOENT, EACCES, ENOEXEC), #! scripts,
 * close-on-exec, and signal dispositions and mask across exec. The program
 * re-executes itself (argv[0]) in helper modes that report through their exit
 * code: 0 means every expectation held, another value names the first that did not. */
#include "../check.h"
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>

extern char **environ;

static void on_usr2(int sig) { (void)sig; }

/* helper modes, run after exec */
static int helper(int argc, char **argv) {
	const char *mode = argv[1];
	if (strcmp(mode, "args") == 0) {
		if (argc != 5 || strcmp(argv[2], "one") || strcmp(argv[3], "two words") || strcmp(argv[4], ""))
			return 2;
		return 0;
	}
	if (strcmp(mode, "env") == 0) {
		int n = 0;
		for (char **e = environ; *e; e++)
			n++;
		if (n != 2)
			return 2;
		if (strcmp(environ[0], "FOO=bar") || strcmp(environ[1], "EMPTY="))
			return 3;
		const char *v = getenv("FOO");
		return v && strcmp(v, "bar") == 0 ? 0 : 4;
	}
	if (strcmp(mode, "pid") == 0)
		return getpid() == atoi(argv[2]) ? 0 : 2;
	if (strcmp(mode, "fds") == 0) {
		/* argv[2] must be closed (it was O_CLOEXEC), argv[3] open at offset 3. */
		if (fcntl(atoi(argv[2]), F_GETFD) != -1 || errno != EBADF)
			return 2;
		if (lseek(atoi(argv[3]), 0, SEEK_CUR) != 3)
			return 3;
		return 0;
	}
	if (strcmp(mode, "signals") == 0) {
		struct sigaction sa;
		sigaction(SIGUSR1, NULL, &sa);
		if (sa.sa_handler != SIG_IGN)
			return 2;
		sigaction(SIGUSR2, NULL, &sa);
		if (sa.sa_handler != SIG_DFL)
			return 3;
		sigset_t set;
		sigprocmask(SIG_BLOCK, NULL, &set);
		if (!sigismember(&set, SIGTERM))
			return 4;
		return 0;
	}
	if (strcmp(mode, "shebang") == 0) {
		/* run as "#!<self> shebang" interpreter of script argv[2] with argument argv[3] */
		if (argc != 4 || strcmp(argv[2], "/tmp/conf-exec-interp.sh") || strcmp(argv[3], "arg1"))
			return 2;
		return 0;
	}
	return 100;
}

/* run forks, execs path with argv and envp, and returns the child's exit
 * code, or 1000+signal, or 200+errno when execve itself failed. */
static int run(const char *path, char *const argv[], char *const envp[]) {
	pid_t pid = fork();
	if (pid == 0) {
		execve(path, argv, envp);
		_exit(200 + errno);
	}
	return exit_code(pid);
}

static void put(const char *path, const char *content, mode_t mode) {
	unlink(path);
	int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, mode);
	write(fd, content, strlen(content));
	close(fd);
	chmod(path, mode);
}

int main(int argc, char **argv) {
	if (argc > 1)
		return helper(argc, argv);
	char *self = argv[0];
	char *env0[] = {NULL};

	char *a1[] = {self, "args", "one", "two words", "", NULL};
	CHECK_EQ(run(self, a1, env0), 0, "execve passes argv exactly, including spaces and empty strings");
	char *e2[] = {"FOO=bar", "EMPTY=", NULL};
	char *a2[] = {self, "env", NULL};
	CHECK_EQ(run(self, a2, e2), 0, "execve passes envp exactly as the new environ");

	pid_t pid = fork();
	if (pid == 0) {
		char num[16];
		snprintf(num, sizeof num, "%d", getpid());
		char *a[] = {self, "pid", num, NULL};
		execve(self, a, env0);
		_exit(99);
	}
	CHECK_EQ(exit_code(pid), 0, "execve keeps the process id");

	char *none[] = {"x", NULL};
	CHECK_ERRNO(execve("/nonexistent/prog", none, env0), ENOENT, "execve of a missing file fails ENOENT");
	put("/tmp/conf-exec-noexec", "#!/bin/sh\nexit 0\n", 0644);
	CHECK_ERRNO(execve("/tmp/conf-exec-noexec", none, env0), EACCES, "execve of a file without execute permission fails EACCES");
	CHECK_ERRNO(execve("/tmp", none, env0), EACCES, "execve of a directory fails EACCES");
	put("/tmp/conf-exec-garbage", "this is not an executable\n", 0755);
	CHECK_ERRNO(execve("/tmp/conf-exec-garbage", none, env0), ENOEXEC, "execve of an executable file of unknown format fails ENOEXEC");
	put("/tmp/conf-exec-badinterp", "#!/nonexistent/interp\n", 0755);
	CHECK_ERRNO(execve("/tmp/conf-exec-badinterp", none, env0), ENOENT, "execve of a script whose interpreter is missing fails ENOENT");
	CHECK_ERRNO(execve("/etc/passwd/x", none, env0), ENOTDIR, "execve through a regular file fails ENOTDIR");

	put("/tmp/conf-exec-sh", "#!/bin/sh\nexit $(( $# + 6 ))\n", 0755);
	char *a3[] = {"/tmp/conf-exec-sh", "only-arg", NULL};
	char *e3[] = {"PATH=/bin", NULL};
	CHECK_EQ(run("/tmp/conf-exec-sh", a3, e3), 7, "a #!/bin/sh script runs with its arguments and exit code");
	char script[256];
	snprintf(script, sizeof script, "#!%s shebang\n", self);
	put("/tmp/conf-exec-interp.sh", script, 0755);
	char *a4[] = {"ignored-argv0", "arg1", NULL};
	CHECK_EQ(run("/tmp/conf-exec-interp.sh", a4, env0), 0,
		 "a #! interpreter gets its optional argument, the script path and the arguments");

	int fd = open("/tmp/conf-exec-fds", O_CREAT | O_RDWR | O_TRUNC, 0644);
	write(fd, "abc", 3);
	int cfd = open("/tmp/conf-exec-fds", O_RDONLY | O_CLOEXEC);
	CHECK_EQ(fcntl(cfd, F_GETFD), FD_CLOEXEC, "O_CLOEXEC sets FD_CLOEXEC");
	char s1[16], s2[16];
	snprintf(s1, sizeof s1, "%d", cfd);
	snprintf(s2, sizeof s2, "%d", fd);
	char *a5[] = {self, "fds", s1, s2, NULL};
	CHECK_EQ(run(self, a5, env0), 0, "execve closes O_CLOEXEC fds and keeps others with their offsets");
	close(fd);
	close(cfd);

	pid = fork();
	if (pid == 0) {
		signal(SIGUSR1, SIG_IGN);
		signal(SIGUSR2, on_usr2);
		sigset_t set;
		sigemptyset(&set);
		sigaddset(&set, SIGTERM);
		sigprocmask(SIG_BLOCK, &set, NULL);
		char *a[] = {self, "signals", NULL};
		execve(self, a, env0);
		_exit(99);
	}
	CHECK_EQ(exit_code(pid), 0, "execve keeps ignored signals and the mask but resets handlers");

	pid = vfork();
	if (pid == 0) {
		execve(self, a1, env0);
		_exit(99);
	}
	CHECK_EQ(exit_code(pid), 0, "vfork followed by execve runs the new program");

	pid = fork();
	if (pid == 0) {
		char *a[] = {"sh", "-c", "exit 12", NULL};
		execve("/bin/sh", a, env0);
		_exit(99);
	}
	CHECK_EQ(exit_code(pid), 12, "execve of busybox sh -c returns the shell's exit code");
	return check_done();
}
