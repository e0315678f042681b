/* fork, vfork, exit codes, wait4 status encoding, WNOHANG, waitid, getpid/getppid
 * and the reparenting of orphans to the container's init (this program, pid 1). */
#include "../check.h"
#include <signal.h>
#include <sys/resource.h>
#include <time.h>

static void sleep_ms(long ms) {
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static volatile int vfork_flag;

int main(void) {
	CHECK_EQ(getpid(), 1, "the container process is pid 1 in its pid namespace");
	CHECK_EQ(getppid(), 0, "the container init's parent pid is 0");

	int pfd[2];
	pipe(pfd);
	pid_t me = getpid();
	int var = 1;
	pid_t pid = fork();
	if (pid == 0) {
		pid_t ids[2] = {getpid(), getppid()};
		var = 2;
		write(pfd[1], ids, sizeof ids);
		_exit(42);
	}
	CHECK(pid > 0, "fork returns the child's pid in the parent");
	pid_t ids[2] = {0, 0};
	read(pfd[0], ids, sizeof ids);
	CHECK_EQ(ids[0], pid, "the child's getpid equals the pid fork returned");
	CHECK_EQ(ids[1], me, "the child's getppid is the parent's pid");
	int status = -1;
	struct rusage ru;
	CHECK_EQ(wait4(pid, &status, 0, &ru), pid, "wait4 returns the child's pid");
	CHECK(WIFEXITED(status), "wait4 status says exited");
	CHECK_EQ(WEXITSTATUS(status), 42, "wait4 status carries exit code 42");
	CHECK_EQ(status, 42 << 8, "exit status encoding is code << 8");
	CHECK_EQ(var, 1, "a child's write to memory is not seen by the parent");
	CHECK_ERRNO(wait4(pid, &status, 0, NULL), ECHILD, "wait4 of a reaped child fails ECHILD");
	CHECK_ERRNO(wait4(-1, &status, 0, NULL), ECHILD, "wait4 with no children fails ECHILD");
	CHECK_ERRNO(wait4(-1, &status, 0x4000 /* no such option */, NULL), EINVAL, "wait4 with unknown option bits fails EINVAL");

	pid = fork();
	if (pid == 0)
		exit(255);
	CHECK_EQ(exit_code(pid), 255, "exit code 255 is preserved");
	pid = fork();
	if (pid == 0)
		_exit(256 + 7);
	CHECK_EQ(exit_code(pid), 7, "exit codes are taken modulo 256");
	pid = fork();
	if (pid == 0)
		return 3; /* returning from main exits */
	CHECK_EQ(exit_code(pid), 3, "returning from main exits with its value");

	pid_t slow = fork();
	if (slow == 0) {
		sleep_ms(500);
		_exit(5);
	}
	pid_t fast = fork();
	if (fast == 0)
		_exit(6);
	CHECK_EQ(wait4(slow, &status, WNOHANG, NULL), 0, "wait4 WNOHANG on a running child returns 0");
	CHECK_EQ(wait4(slow, &status, 0, NULL), slow, "wait4 for a specific pid waits for that child");
	CHECK_EQ(WEXITSTATUS(status), 5, "the specific child's exit code");
	sleep_ms(50);
	CHECK_EQ(wait4(-1, &status, WNOHANG, NULL), fast, "wait4 -1 WNOHANG reaps an exited child");
	CHECK_EQ(WEXITSTATUS(status), 6, "the other child's exit code");

	pid = fork();
	if (pid == 0)
		_exit(9);
	siginfo_t si;
	memset(&si, 0, sizeof si);
	CHECK_OK(waitid(P_PID, pid, &si, WEXITED | WNOWAIT), "waitid P_PID WEXITED|WNOWAIT");
	CHECK_EQ(si.si_pid, pid, "waitid sets si_pid");
	CHECK_EQ(si.si_signo, SIGCHLD, "waitid sets si_signo to SIGCHLD");
	CHECK_EQ(si.si_code, CLD_EXITED, "waitid sets si_code CLD_EXITED");
	CHECK_EQ(si.si_status, 9, "waitid sets si_status to the exit code");
	CHECK_EQ(wait4(pid, &status, WNOHANG, NULL), pid, "a child seen with WNOWAIT can still be reaped");
	pid = fork();
	if (pid == 0) {
		sleep_ms(10000); /* killed below */
		_exit(0);
	}
	memset(&si, 0xff, sizeof si);
	CHECK_OK(waitid(P_ALL, 0, &si, WEXITED | WNOHANG), "waitid P_ALL WNOHANG with no exited child succeeds");
	CHECK_EQ(si.si_pid, 0, "waitid WNOHANG with nothing to report zeroes si_pid");
	CHECK_ERRNO(waitid(P_PID, pid, &si, 0), EINVAL, "waitid without WEXITED/WSTOPPED/WCONTINUED fails EINVAL");
	kill(pid, SIGKILL);
	memset(&si, 0, sizeof si);
	CHECK_OK(waitid(P_PID, pid, &si, WEXITED), "waitid for a killed child");
	CHECK(si.si_code == CLD_KILLED && si.si_status == SIGKILL, "waitid reports CLD_KILLED with si_status SIGKILL");

	vfork_flag = 0;
	pid = vfork();
	if (pid == 0) {
		vfork_flag = 1; /* shared memory: the parent sees this */
		_exit(11);
	}
	CHECK(pid > 0, "vfork returns the child's pid");
	CHECK_EQ(vfork_flag, 1, "the parent resumes after the vfork child exits and sees its memory write");
	CHECK_EQ(exit_code(pid), 11, "the vfork child's exit code");

	/* Orphans: a child forks a grandchild and exits; the grandchild is reparented
	 * to this process (the init) and reports its new parent through a pipe. */
	int g[2];
	pipe(g);
	pid = fork();
	if (pid == 0) {
		pid_t gc = fork();
		if (gc == 0) {
			close(g[0]);
			for (int i = 0; i < 200 && getppid() != 1; i++)
				sleep_ms(10);
			pid_t pp = getppid();
			write(g[1], &pp, sizeof pp);
			_exit(17);
		}
		write(g[1], &gc, sizeof gc);
		_exit(0);
	}
	close(g[1]);
	pid_t gc = 0, pp = 0;
	read(g[0], &gc, sizeof gc);
	CHECK_EQ(exit_code(pid), 0, "the orphaning middle process exits 0");
	CHECK_EQ(read(g[0], &pp, sizeof pp), (long)sizeof pp, "the orphaned grandchild reports its parent");
	CHECK_EQ(pp, 1, "an orphan is reparented to the init (pid 1)");
	CHECK_EQ(wait4(gc, &status, 0, NULL), gc, "the init can reap its adopted orphan");
	CHECK_EQ(WEXITSTATUS(status), 17, "the adopted orphan's exit code");
	close(g[0]);
	return check_done();
}
