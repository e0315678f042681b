/* Signal handlers, SA_SIGINFO, masks and pending sets, uncatchable signals,
 * SA_RESETHAND, sigsuspend and kill's errors. */
#include "../check.h"
#include <signal.h>

static volatile sig_atomic_t usr1_count, usr1_blocked_inside;
static volatile int info_signo, info_code, info_pid, info_uid, info_ctx;

static void on_usr1(int sig) {
	sigset_t cur;
	sigprocmask(SIG_BLOCK, NULL, &cur);
	if (sig == SIGUSR1)
		usr1_count++;
	usr1_blocked_inside = sigismember(&cur, SIGUSR1);
}

static void on_info(int sig, siginfo_t *si, void *ctx) {
	(void)sig;
	info_signo = si->si_signo;
	info_code = si->si_code;
	info_pid = si->si_pid;
	info_uid = si->si_uid;
	info_ctx = ctx != NULL;
}

static int is_pending(int sig) {
	sigset_t set;
	sigemptyset(&set);
	sigpending(&set);
	return sigismember(&set, sig);
}

int main(void) {
	struct sigaction sa, old;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr1;
	sigemptyset(&sa.sa_mask);
	CHECK_OK(sigaction(SIGUSR1, &sa, NULL), "sigaction installs a handler");
	CHECK_OK(sigaction(SIGUSR1, NULL, &old), "sigaction queries the current action");
	CHECK(old.sa_handler == on_usr1, "sigaction returns the installed handler as the old action");
	CHECK_OK(kill(getpid(), SIGUSR1), "kill to self succeeds");
	CHECK_EQ(usr1_count, 1, "the handler ran before kill to self returned");
	CHECK_EQ(usr1_blocked_inside, 1, "the signal is blocked while its handler runs");
	sigset_t cur;
	sigprocmask(SIG_BLOCK, NULL, &cur);
	CHECK(!sigismember(&cur, SIGUSR1), "the mask is restored after the handler returns");
	CHECK_OK(raise(SIGUSR1), "raise (tgkill) to self succeeds");
	CHECK_EQ(usr1_count, 2, "the handler ran for raise");

	sigset_t block;
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	CHECK_OK(sigprocmask(SIG_BLOCK, &block, NULL), "sigprocmask SIG_BLOCK SIGUSR1");
	kill(getpid(), SIGUSR1);
	kill(getpid(), SIGUSR1);
	CHECK_EQ(usr1_count, 2, "a blocked signal is not delivered");
	CHECK(is_pending(SIGUSR1), "sigpending shows the blocked signal");
	CHECK(!is_pending(SIGUSR2), "sigpending does not show an unsent signal");
	CHECK_OK(sigprocmask(SIG_UNBLOCK, &block, NULL), "sigprocmask SIG_UNBLOCK SIGUSR1");
	CHECK_EQ(usr1_count, 3, "unblocking delivers a standard signal sent twice exactly once");
	CHECK(!is_pending(SIGUSR1), "the pending set is empty after delivery");
	sigset_t all, got;
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old.sa_mask);
	sigprocmask(SIG_SETMASK, &old.sa_mask, &got);
	CHECK(!sigismember(&got, SIGKILL) && !sigismember(&got, SIGSTOP), "SIGKILL and SIGSTOP cannot be blocked");
	CHECK(sigismember(&got, SIGTERM), "SIG_SETMASK with a full set blocks SIGTERM");
	CHECK_ERRNO(sigprocmask(42, &block, NULL), EINVAL, "sigprocmask with an unknown how fails EINVAL");

	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_info;
	sa.sa_flags = SA_SIGINFO;
	CHECK_OK(sigaction(SIGUSR2, &sa, NULL), "sigaction with SA_SIGINFO");
	kill(getpid(), SIGUSR2);
	CHECK_EQ(info_signo, SIGUSR2, "SA_SIGINFO handler gets si_signo");
	CHECK_EQ(info_code, SI_USER, "kill gives si_code SI_USER");
	CHECK_EQ(info_pid, getpid(), "kill gives the sender's pid in si_pid");
	CHECK_EQ(info_uid, getuid(), "kill gives the sender's uid in si_uid");
	CHECK(info_ctx, "SA_SIGINFO handler gets a non-NULL ucontext");
	raise(SIGUSR2);
	CHECK_EQ(info_code, SI_TKILL, "raise (tgkill) gives si_code SI_TKILL");

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr1;
	CHECK_ERRNO(sigaction(SIGKILL, &sa, NULL), EINVAL, "sigaction on SIGKILL fails EINVAL");
	CHECK_ERRNO(sigaction(SIGSTOP, &sa, NULL), EINVAL, "sigaction on SIGSTOP fails EINVAL");
	CHECK_ERRNO(sigaction(0, &sa, NULL), EINVAL, "sigaction on signal 0 fails EINVAL");
	CHECK_ERRNO(sigaction(65, &sa, NULL), EINVAL, "sigaction on signal 65 fails EINVAL");

	sa.sa_handler = on_usr1;
	sa.sa_flags = SA_RESETHAND;
	sigaction(SIGUSR1, &sa, NULL);
	usr1_count = 0;
	kill(getpid(), SIGUSR1);
	CHECK_EQ(usr1_count, 1, "an SA_RESETHAND handler runs");
	sigaction(SIGUSR1, NULL, &old);
	CHECK(old.sa_handler == SIG_DFL, "SA_RESETHAND resets the action to SIG_DFL after delivery");

	signal(SIGUSR1, SIG_IGN);
	CHECK_OK(kill(getpid(), SIGUSR1), "kill with an ignored signal succeeds");
	CHECK(!is_pending(SIGUSR1), "an ignored signal is discarded, not left pending");

	sa.sa_handler = on_usr1;
	sa.sa_flags = 0;
	sigaction(SIGUSR1, &sa, NULL);
	sigprocmask(SIG_BLOCK, &block, NULL);
	usr1_count = 0;
	pid_t pid = fork();
	if (pid == 0) {
		kill(getppid(), SIGUSR1);
		_exit(0);
	}
	sigset_t wait_mask;
	sigemptyset(&wait_mask);
	CHECK_ERRNO(sigsuspend(&wait_mask), EINTR, "sigsuspend returns EINTR after a handler ran");
	CHECK_EQ(usr1_count, 1, "sigsuspend let the blocked signal in");
	sigprocmask(SIG_BLOCK, NULL, &cur);
	CHECK(sigismember(&cur, SIGUSR1), "sigsuspend restores the old mask");
	sigprocmask(SIG_UNBLOCK, &block, NULL);
	exit_code(pid);

	CHECK_OK(kill(getpid(), 0), "kill with signal 0 to an existing process succeeds");
	CHECK_ERRNO(kill(99999, 0), ESRCH, "kill to a missing pid fails ESRCH");
	CHECK_ERRNO(kill(getpid(), 65), EINVAL, "kill with an invalid signal fails EINVAL");
	return check_done();
}
