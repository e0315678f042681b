/* Signals between processes: SIGCHLD on child exit, default actions reported
 * by wait (terminate, core, stop/continue), SIGPIPE, and a blocking read
 * interrupted by a handler (EINTR) or restarted (SA_RESTART). */
#include "../check.h"
#include <signal.h>
#include <time.h>

static void sleep_ms(long ms) {
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static volatile sig_atomic_t chld_count, chld_pid, chld_code, chld_status, usr1_count;

static void on_chld(int sig, siginfo_t *si, void *ctx) {
	(void)sig, (void)ctx;
	chld_count++;
	chld_pid = si->si_pid;
	chld_code = si->si_code;
	chld_status = si->si_status;
}

static void on_usr1(int sig) { (void)sig, usr1_count++; }

/* poke forks a child that sends SIGUSR1 to the parent every delay_ms (so a
 * signal that arrives before the parent blocks is followed by one that
 * interrupts it) until it is killed and, when wfd >= 0, writes one byte to
 * wfd after the second signal. */
static pid_t poke(long delay_ms, int wfd) {
	pid_t parent = getpid(), pid = fork();
	if (pid == 0) {
		for (int i = 1; i <= 100; i++) {
			sleep_ms(delay_ms);
			kill(parent, SIGUSR1);
			if (i == 2 && wfd >= 0)
				write(wfd, "R", 1);
		}
		_exit(0);
	}
	return pid;
}

/* unpoke kills and reaps a poke child. */
static void unpoke(pid_t pid) {
	kill(pid, SIGKILL);
	wait_status(pid);
}

int main(void) {
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_chld;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGCHLD, &sa, NULL);
	pid_t pid = fork();
	if (pid == 0)
		_exit(4);
	int s = wait_status(pid);
	CHECK_EQ(chld_count, 1, "SIGCHLD handler runs when a child exits");
	CHECK_EQ(chld_pid, pid, "SIGCHLD si_pid is the child's pid");
	CHECK_EQ(chld_code, CLD_EXITED, "SIGCHLD si_code is CLD_EXITED");
	CHECK_EQ(chld_status, 4, "SIGCHLD si_status is the exit code");
	CHECK(WIFEXITED(s) && WEXITSTATUS(s) == 4, "the child is reaped after SIGCHLD");
	signal(SIGCHLD, SIG_DFL);

	pid = fork();
	if (pid == 0) {
		kill(getpid(), SIGTERM);
		sleep_ms(5000);
		_exit(0);
	}
	s = wait_status(pid);
	CHECK(WIFSIGNALED(s), "a child killed by SIGTERM's default action is reported as signaled");
	CHECK_EQ(WTERMSIG(s), SIGTERM, "WTERMSIG is SIGTERM");
	CHECK(!WCOREDUMP(s), "SIGTERM's default action dumps no core");

	pid = fork();
	if (pid == 0) {
		sleep_ms(5000);
		_exit(0);
	}
	kill(pid, SIGKILL);
	s = wait_status(pid);
	CHECK(WIFSIGNALED(s) && WTERMSIG(s) == SIGKILL, "a child killed by the parent with SIGKILL is signaled SIGKILL");

	pid = fork();
	if (pid == 0) {
		abort();
	}
	s = wait_status(pid);
	CHECK(WIFSIGNALED(s) && WTERMSIG(s) == SIGABRT, "abort() terminates with SIGABRT");

	pid = fork();
	if (pid == 0) {
		signal(SIGUSR2, SIG_IGN);
		kill(getpid(), SIGUSR2);
		_exit(8);
	}
	s = wait_status(pid);
	CHECK(WIFEXITED(s) && WEXITSTATUS(s) == 8, "an ignored SIGUSR2 does not terminate");

	int p[2];
	pipe(p);
	close(p[0]); /* no reader from the start */
	pid = fork();
	if (pid == 0) {
		write(p[1], "x", 1);
		_exit(0);
	}
	close(p[1]);
	s = wait_status(pid);
	CHECK(WIFSIGNALED(s) && WTERMSIG(s) == SIGPIPE, "write to a pipe without readers kills with SIGPIPE");

	pid = fork();
	if (pid == 0) {
		for (;;)
			sleep_ms(1000);
	}
	CHECK_OK(kill(pid, SIGSTOP), "kill SIGSTOP to a child");
	s = -1;
	CHECK_EQ(waitpid(pid, &s, WUNTRACED), pid, "waitpid WUNTRACED reports the stopped child");
	CHECK(WIFSTOPPED(s) && WSTOPSIG(s) == SIGSTOP, "the wait status says stopped by SIGSTOP");
	CHECK_OK(kill(pid, SIGCONT), "kill SIGCONT to the stopped child");
	CHECK_EQ(waitpid(pid, &s, WCONTINUED), pid, "waitpid WCONTINUED reports the continued child");
	CHECK(WIFCONTINUED(s), "the wait status says continued");
	kill(pid, SIGKILL);
	s = wait_status(pid);
	CHECK(WIFSIGNALED(s) && WTERMSIG(s) == SIGKILL, "the continued child is killed by SIGKILL");

	/* A blocking read interrupted by a handler without SA_RESTART fails EINTR. */
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	pipe(p);
	pid = poke(200, -1);
	char c;
	CHECK_ERRNO(read(p[0], &c, 1), EINTR, "a blocking pipe read interrupted by a handler fails EINTR");
	unpoke(pid);
	CHECK(usr1_count >= 1, "the interrupting handler ran");

	/* With SA_RESTART the read is restarted and returns the data written later. */
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR1, &sa, NULL);
	int before = usr1_count;
	pid = poke(200, p[1]);
	c = 0;
	CHECK_EQ(read(p[0], &c, 1), 1, "a blocking read interrupted by an SA_RESTART handler is restarted");
	CHECK_EQ(c, 'R', "the restarted read returns the data written after the signal");
	unpoke(pid);
	CHECK(usr1_count > before, "the SA_RESTART handler ran");

	/* nanosleep interrupted by a handler fails EINTR and reports the time left. */
	sa.sa_flags = 0;
	sigaction(SIGUSR1, &sa, NULL);
	pid = poke(200, -1);
	struct timespec req = {5, 0}, rem = {0, 0};
	CHECK_ERRNO(nanosleep(&req, &rem), EINTR, "nanosleep interrupted by a handler fails EINTR");
	unpoke(pid);
	CHECK(rem.tv_sec > 0 && rem.tv_sec <= 5, "nanosleep reports the remaining time");
	close(p[0]);
	close(p[1]);
	return check_done();
}
