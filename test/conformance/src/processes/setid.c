/* Set-user-ID and set-group-ID programs, and capabilities across execve.
 * conformance: privileged (runs with Docker's default capabilities and
 * without no_new_privs, so that set-ID bits can take effect)
 *
 * The program copies itself to / (a mount without nosuid) and to /tmp (nosuid)
 * with set-ID bits, drops to uid/gid 1000 in a child and re-executes a copy in
 * a helper mode that reports through its exit code: 0 means every expectation
 * held, another value names the first that did not. */
#include "../check.h"
#include <fcntl.h>
#include <grp.h>
#include <sys/auxv.h>
#include <sys/prctl.h>
#include <sys/stat.h>

#define SUID "/conformance-setuid"
#define SGID "/conformance-setgid"
#define NOSUID "/tmp/conformance-setuid"

/* capability reads a capability set line ("CapEff:", ...) of /proc/self/status. */
static unsigned long long capability(const char *name) {
	char buf[4096];
	int fd = open("/proc/self/status", O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return ~0ULL;
	buf[n] = 0;
	char *p = strstr(buf, name);
	return p ? strtoull(p + strlen(name), NULL, 16) : ~0ULL;
}

/* helper: argv = ids <euid> <egid> <secure> <capeff-zero> */
static int helper(char **argv) {
	if (getuid() != 1000 || getgid() != 1000)
		return 2;
	if (geteuid() != (uid_t)atoi(argv[2]))
		return 3;
	if (getegid() != (gid_t)atoi(argv[3]))
		return 4;
	if (getauxval(AT_SECURE) != (unsigned long)atoi(argv[4]))
		return 5;
	uid_t r, e, s;
	if (getresuid(&r, &e, &s) || s != e)
		return 6;
	int zero = atoi(argv[5]);
	if (zero && (capability("CapEff:") != 0 || capability("CapPrm:") != 0))
		return 7;
	if (!zero && capability("CapEff:") == 0)
		return 8;
	return 0;
}

static int copy_self(const char *dst, mode_t mode, gid_t gid) {
	char buf[65536];
	int in = open("/proc/self/exe", O_RDONLY);
	int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0700);
	if (in < 0 || out < 0)
		return -1;
	ssize_t n;
	while ((n = read(in, buf, sizeof buf)) > 0)
		if (write(out, buf, n) != n)
			return -1;
	close(in);
	close(out);
	if (chown(dst, 0, gid) || chmod(dst, mode))
		return -1;
	return 0;
}

/* run forks, becomes uid/gid 1000 (keeping capabilities if keep), sets
 * no_new_privs if nnp, and execs prog in helper mode; returns the status. */
static int run(const char *prog, int keep, int nnp, const char *euid, const char *egid, const char *secure, const char *zero) {
	pid_t pid = fork();
	if (pid == 0) {
		if (keep && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0))
			_exit(90);
		if (setgroups(0, NULL) || setresgid(1000, 1000, 1000) || setresuid(1000, 1000, 1000))
			_exit(91);
		if (keep && capability("CapPrm:") == 0)
			_exit(92);
		if (nnp && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
			_exit(93);
		char *args[] = {(char *)prog, "ids", (char *)euid, (char *)egid, (char *)secure, (char *)zero, NULL};
		execv(prog, args);
		_exit(94);
	}
	int st;
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int main(int argc, char **argv) {
	if (argc == 6 && strcmp(argv[1], "ids") == 0)
		return helper(argv);
	check_pid = getpid();

	CHECK_OK(copy_self(SUID, 04755, 0), "a set-user-ID root copy");
	CHECK_OK(copy_self(SGID, 02755, 42), "a set-group-ID 42 copy");
	CHECK_OK(copy_self(NOSUID, 04755, 0), "a set-user-ID copy on a nosuid mount");

	CHECK_EQ(run(SUID, 0, 0, "0", "1000", "1", "0"), 0, "set-user-ID root gives euid 0, AT_SECURE and capabilities");
	CHECK_EQ(run(SGID, 0, 0, "1000", "42", "1", "1"), 0, "set-group-ID gives the file's group as egid and AT_SECURE");
	CHECK_EQ(run(NOSUID, 0, 0, "1000", "1000", "0", "1"), 0, "nosuid mount ignores the set-user-ID bit");
	CHECK_EQ(run(SUID, 0, 1, "1000", "1000", "0", "1"), 0, "no_new_privs ignores the set-user-ID bit");
	CHECK_EQ(run("/proc/self/exe", 1, 0, "1000", "1000", "0", "1"), 0, "a non-root user's kept capabilities are gone after execve");

	unlink(SUID);
	unlink(SGID);
	unlink(NOSUID);
	return check_done();
}
