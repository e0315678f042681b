/* Signal queues and timers: sigtimedwait/sigwaitinfo, sigqueue with a value,
 * rt_sigqueueinfo's si_code rule, real-time signals queueing in order while
 * standard ones coalesce, signalfd (read, poll, mask update, no double
 * delivery), timerfd (periodic counts, absolute time, gettime), POSIX timers
 * (SIGEV_SIGNAL with si_value, SIGEV_NONE, SIGEV_THREAD_ID, overruns),
 * setitimer/getitimer/alarm, PR_SET_PDEATHSIG, and job control of orphaned
 * process groups. */
#include "../check.h"
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <time.h>
#include <fcntl.h>

static void sleep_ms(long ms) {
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static long long now_ms(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static int is_pending(int sig) {
	sigset_t s;
	sigpending(&s);
	return sigismember(&s, sig);
}

static void block(int sig) {
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, sig);
	sigprocmask(SIG_BLOCK, &s, NULL);
}

static void unblock(int sig) {
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, sig);
	sigprocmask(SIG_UNBLOCK, &s, NULL);
}

/* take waits at most ms for sig with sigtimedwait. */
static int take(int sig, siginfo_t *si, long ms) {
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, sig);
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	return sigtimedwait(&s, si, &ts);
}

/* read_byte reads one byte from fd within ms, or returns -1. */
static int read_byte(int fd, long ms) {
	struct pollfd p = {fd, POLLIN, 0};
	if (poll(&p, 1, ms) != 1)
		return -1;
	char c;
	return read(fd, &c, 1) == 1 ? c : -1;
}

static volatile sig_atomic_t handled, handled_value, handled_code, vt_count, prof_count, alrm_count;

static void on_sig(int sig, siginfo_t *si, void *ctx) {
	(void)sig, (void)ctx;
	handled++;
	handled_value = si->si_value.sival_int;
	handled_code = si->si_code;
}

static void on_count(int sig) {
	if (sig == SIGVTALRM)
		vt_count++;
	else if (sig == SIGPROF)
		prof_count++;
	else if (sig == SIGALRM)
		alrm_count++;
}

static void handle(int sig, void (*fn)(int)) {
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = fn;
	sigaction(sig, &sa, NULL);
}

static void test_sigtimedwait(void) {
	siginfo_t si;
	block(SIGUSR1);
	long long t0 = now_ms();
	CHECK_ERRNO(take(SIGUSR1, &si, 50), EAGAIN, "sigtimedwait times out with EAGAIN");
	CHECK(now_ms() - t0 >= 40, "sigtimedwait waited for its timeout");
	CHECK_ERRNO(take(SIGUSR1, &si, 0), EAGAIN, "sigtimedwait with a zero timeout polls");

	kill(getpid(), SIGUSR1);
	memset(&si, 0, sizeof si);
	CHECK_EQ(take(SIGUSR1, &si, 1000), SIGUSR1, "sigtimedwait returns a pending signal");
	CHECK_EQ(si.si_code, SI_USER, "sigtimedwait fills si_code");
	CHECK_EQ(si.si_pid, getpid(), "sigtimedwait fills si_pid");
	CHECK(!is_pending(SIGUSR1), "sigtimedwait dequeues the signal");

	pid_t parent = getpid(), pid = fork();
	if (pid == 0) {
		sleep_ms(50);
		kill(parent, SIGUSR1);
		_exit(0);
	}
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	memset(&si, 0, sizeof si);
	CHECK_EQ(sigwaitinfo(&s, &si), SIGUSR1, "sigwaitinfo waits for a signal sent later");
	CHECK_EQ(si.si_pid, pid, "sigwaitinfo si_pid is the sender");
	CHECK_EQ(si.si_code, SI_USER, "kill gives si_code SI_USER");
	exit_code(pid);

	/* A signal outside the set interrupts the wait with EINTR. */
	handle(SIGUSR2, on_count);
	pid = fork();
	if (pid == 0) {
		sleep_ms(50);
		kill(parent, SIGUSR2);
		_exit(0);
	}
	CHECK_ERRNO(take(SIGUSR1, &si, 5000), EINTR, "sigtimedwait is interrupted by a handled signal");
	exit_code(pid);
	unblock(SIGUSR1);
}

static void test_sigqueue(void) {
	siginfo_t si;
	int rt = SIGRTMIN + 1;
	block(rt);
	union sigval v = {.sival_int = 42};
	CHECK_OK(sigqueue(getpid(), rt, v), "sigqueue to self succeeds");
	memset(&si, 0, sizeof si);
	CHECK_EQ(take(rt, &si, 1000), rt, "a queued signal is taken");
	CHECK_EQ(si.si_code, SI_QUEUE, "sigqueue gives si_code SI_QUEUE");
	CHECK_EQ(si.si_value.sival_int, 42, "sigqueue passes si_value");
	CHECK_EQ(si.si_pid, getpid(), "sigqueue si_pid is the sender");

	/* Real-time signals queue every instance, lowest number first, each
	 * signal's instances in order. */
	block(SIGRTMIN);
	int order[4][2] = {{rt, 1}, {SIGRTMIN, 2}, {rt, 3}, {SIGRTMIN, 4}};
	for (int i = 0; i < 4; i++)
		sigqueue(getpid(), order[i][0], (union sigval){.sival_int = order[i][1]});
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, rt);
	sigaddset(&s, SIGRTMIN);
	int want[4][2] = {{SIGRTMIN, 2}, {SIGRTMIN, 4}, {rt, 1}, {rt, 3}};
	int good = 1;
	for (int i = 0; i < 4; i++) {
		memset(&si, 0, sizeof si);
		int sig = sigwaitinfo(&s, &si);
		if (sig != want[i][0] || si.si_value.sival_int != want[i][1])
			good = 0;
	}
	CHECK(good, "real-time signals queue every instance in order");
	struct timespec zero = {0, 0};
	CHECK_ERRNO(sigtimedwait(&s, &si, &zero), EAGAIN, "the real-time queue is empty afterwards");

	block(SIGUSR2);
	raise(SIGUSR2);
	raise(SIGUSR2);
	CHECK_EQ(take(SIGUSR2, &si, 100), SIGUSR2, "a standard signal sent twice is taken once");
	CHECK_ERRNO(take(SIGUSR2, &si, 0), EAGAIN, "standard signals coalesce");

	/* rt_sigqueueinfo may not forge a kernel or kill siginfo for another
	 * process. */
	pid_t pid = fork();
	if (pid == 0) {
		sleep_ms(5000);
		_exit(0);
	}
	memset(&si, 0, sizeof si);
	si.si_signo = SIGUSR2;
	si.si_code = SI_USER;
	CHECK_ERRNO(syscall(SYS_rt_sigqueueinfo, pid, SIGUSR2, &si), EPERM,
		    "rt_sigqueueinfo with si_code SI_USER to another process fails EPERM");
	si.si_code = SI_TKILL;
	CHECK_ERRNO(syscall(SYS_rt_tgsigqueueinfo, pid, pid, SIGUSR2, &si), EPERM,
		    "rt_tgsigqueueinfo with si_code SI_TKILL to another thread fails EPERM");
	si.si_code = SI_USER;
	CHECK_OK(syscall(SYS_rt_sigqueueinfo, getpid(), SIGUSR2, &si), "rt_sigqueueinfo with SI_USER to self succeeds");
	CHECK_EQ(take(SIGUSR2, &si, 100), SIGUSR2, "the self-queued signal is pending");
	kill(pid, SIGKILL);
	exit_code(pid);
	CHECK_ERRNO(sigqueue(getpid(), 65, v), EINVAL, "sigqueue with an invalid signal fails EINVAL");
	unblock(SIGUSR2);
}

static void test_signalfd(void) {
	struct signalfd_siginfo ssi;
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	block(SIGUSR1);
	block(SIGRTMIN);
	int fd = CHECK_OK(signalfd(-1, &s, SFD_NONBLOCK | SFD_CLOEXEC), "signalfd creates a descriptor");
	CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC, "SFD_CLOEXEC sets FD_CLOEXEC");
	CHECK(fcntl(fd, F_GETFL) & O_NONBLOCK, "SFD_NONBLOCK sets O_NONBLOCK");
	CHECK_ERRNO(read(fd, &ssi, sizeof ssi), EAGAIN, "reading an empty nonblocking signalfd fails EAGAIN");
	CHECK_ERRNO(read(fd, &ssi, 64), EINVAL, "reading less than a record fails EINVAL");
	struct pollfd p = {fd, POLLIN, 0};
	CHECK_EQ(poll(&p, 1, 0), 0, "an empty signalfd is not readable");

	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_sig;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGUSR1, &sa, NULL);
	handled = 0;
	kill(getpid(), SIGUSR1);
	CHECK_EQ(poll(&p, 1, 1000), 1, "a pending signal makes the signalfd readable");
	CHECK(p.revents & POLLIN, "poll reports POLLIN");
	memset(&ssi, 0, sizeof ssi);
	CHECK_EQ(read(fd, &ssi, sizeof ssi), sizeof ssi, "read returns one signalfd_siginfo");
	CHECK_EQ(ssi.ssi_signo, SIGUSR1, "ssi_signo is the signal");
	CHECK_EQ(ssi.ssi_code, SI_USER, "ssi_code is the si_code");
	CHECK_EQ(ssi.ssi_pid, getpid(), "ssi_pid is the sender");
	CHECK(!is_pending(SIGUSR1), "reading the signalfd dequeues the signal");
	unblock(SIGUSR1);
	CHECK_EQ(handled, 0, "a signal read from a signalfd is not also delivered");
	block(SIGUSR1);

	CHECK_ERRNO(read(fd, &ssi, sizeof ssi), EAGAIN, "the signalfd is empty again");
	sigemptyset(&s);
	sigaddset(&s, SIGRTMIN);
	CHECK_EQ(signalfd(fd, &s, 0), fd, "signalfd on an existing signalfd returns it");
	sigqueue(getpid(), SIGRTMIN, (union sigval){.sival_int = 7});
	sigqueue(getpid(), SIGRTMIN, (union sigval){.sival_int = 8});
	raise(SIGUSR1);
	struct signalfd_siginfo two[3];
	memset(two, 0, sizeof two);
	CHECK_EQ(read(fd, two, sizeof two), 2 * sizeof ssi, "one read returns every pending record of the mask");
	CHECK(two[0].ssi_signo == (uint32_t)SIGRTMIN && two[0].ssi_int == 7 && two[1].ssi_int == 8,
	      "the new mask applies and ssi_int carries the value");
	CHECK_EQ(two[0].ssi_code, SI_QUEUE, "ssi_code of sigqueue is SI_QUEUE");
	CHECK(is_pending(SIGUSR1), "a signal outside the new mask stays pending");
	siginfo_t si;
	take(SIGUSR1, &si, 0);
	close(fd);

	/* A blocking read waits for a signal sent later. */
	fd = signalfd(-1, &s, 0);
	pid_t parent = getpid(), pid = fork();
	if (pid == 0) {
		sleep_ms(50);
		sigqueue(parent, SIGRTMIN, (union sigval){.sival_int = 9});
		_exit(0);
	}
	memset(&ssi, 0, sizeof ssi);
	CHECK_EQ(read(fd, &ssi, sizeof ssi), sizeof ssi, "a blocking signalfd read waits for a signal");
	CHECK_EQ(ssi.ssi_pid, pid, "ssi_pid of a signal from another process");
	exit_code(pid);
	close(fd);
	CHECK_ERRNO(signalfd(0, &s, 0), EINVAL, "signalfd on a file that is not a signalfd fails EINVAL");
	CHECK_ERRNO(signalfd(-1, &s, 0x1), EINVAL, "signalfd with unknown flags fails EINVAL");
	unblock(SIGUSR1);
	unblock(SIGRTMIN);
	signal(SIGUSR1, SIG_DFL);
}

static void test_timerfd(void) {
	uint64_t n = 0;
	int fd = CHECK_OK(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC), "timerfd_create succeeds");
	CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC, "TFD_CLOEXEC sets FD_CLOEXEC");
	CHECK_ERRNO(read(fd, &n, 8), EAGAIN, "reading a disarmed nonblocking timerfd fails EAGAIN");
	struct itimerspec its = {{0, 20000000}, {0, 20000000}}, cur;
	long long armed = now_ms();
	CHECK_OK(timerfd_settime(fd, 0, &its, NULL), "timerfd_settime arms a periodic timer");
	CHECK_OK(timerfd_gettime(fd, &cur), "timerfd_gettime succeeds");
	CHECK(cur.it_interval.tv_nsec == 20000000 && cur.it_interval.tv_sec == 0, "timerfd_gettime returns the interval");
	CHECK(cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec > 0 && cur.it_value.tv_nsec <= 20000000,
	      "timerfd_gettime returns the time left");
	sleep_ms(110);
	struct pollfd p = {fd, POLLIN, 0};
	CHECK_EQ(poll(&p, 1, 0), 1, "an expired timerfd is readable");
	CHECK_EQ(read(fd, &n, 8), 8, "read returns 8 bytes");
	long long elapsed = now_ms() - armed;
	CHECK(n >= 4 && (long long)n <= elapsed / 20 + 1, "a 20ms timer read after 110ms counts the elapsed intervals");
	CHECK_ERRNO(read(fd, &n, 4), EINVAL, "a short read of a timerfd fails EINVAL");
	its.it_value.tv_nsec = 0;
	CHECK_OK(timerfd_settime(fd, 0, &its, &cur), "a zero value disarms the timerfd");
	CHECK_EQ(cur.it_interval.tv_nsec, 20000000, "timerfd_settime returns the old interval");
	timerfd_gettime(fd, &cur);
	CHECK(cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec == 0, "a disarmed timerfd reads 0 time left");
	close(fd);

	fd = timerfd_create(CLOCK_REALTIME, 0);
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	its = (struct itimerspec){{0, 0}, now};
	its.it_value.tv_nsec += 30000000;
	if (its.it_value.tv_nsec >= 1000000000) {
		its.it_value.tv_sec++;
		its.it_value.tv_nsec -= 1000000000;
	}
	CHECK_OK(timerfd_settime(fd, TFD_TIMER_ABSTIME, &its, NULL), "timerfd_settime with TFD_TIMER_ABSTIME");
	long long t0 = now_ms();
	n = 0;
	CHECK_EQ(read(fd, &n, 8), 8, "a blocking timerfd read waits for the expiry");
	CHECK_EQ(n, 1, "a one-shot timer expires once");
	CHECK(now_ms() - t0 >= 15, "the absolute expiry was in the future");
	close(fd);

	fd = timerfd_create(CLOCK_BOOTTIME, 0);
	CHECK_OK(fd, "timerfd_create with CLOCK_BOOTTIME succeeds");
	close(fd);
	CHECK_ERRNO(timerfd_create(CLOCK_PROCESS_CPUTIME_ID, 0), EINVAL, "timerfd_create with a CPU clock fails EINVAL");
	CHECK_ERRNO(timerfd_create(CLOCK_MONOTONIC, 0x1), EINVAL, "timerfd_create with unknown flags fails EINVAL");
	CHECK_ERRNO(timerfd_settime(0, 0, &its, NULL), EINVAL, "timerfd_settime on a file that is not a timerfd fails EINVAL");
}

static void test_posix_timers(void) {
	int sig = SIGRTMIN + 3;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_sig;
	sa.sa_flags = SA_SIGINFO;
	sigaction(sig, &sa, NULL);

	struct sigevent ev;
	memset(&ev, 0, sizeof ev);
	ev.sigev_notify = SIGEV_SIGNAL;
	ev.sigev_signo = sig;
	ev.sigev_value.sival_int = 1234;
	timer_t tid;
	CHECK_OK(timer_create(CLOCK_MONOTONIC, &ev, &tid), "timer_create with SIGEV_SIGNAL succeeds");
	struct itimerspec its = {{0, 0}, {0, 20000000}}, cur;
	handled = 0;
	block(sig);
	CHECK_OK(timer_settime(tid, 0, &its, NULL), "timer_settime arms a one-shot timer");
	sigset_t none;
	sigemptyset(&none);
	long long t0 = now_ms();
	while (!handled && now_ms() - t0 < 5000)
		sigsuspend(&none);
	CHECK_EQ(handled, 1, "the timer's signal is delivered to its handler");
	CHECK_EQ(handled_value, 1234, "the handler gets sigev_value as si_value");
	CHECK_EQ(handled_code, SI_TIMER, "the timer's signal has si_code SI_TIMER");
	timer_gettime(tid, &cur);
	CHECK(cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec == 0, "an expired one-shot timer reads 0 time left");

	/* A periodic timer whose signal stays blocked counts overruns. */
	its = (struct itimerspec){{0, 5000000}, {0, 5000000}};
	timer_settime(tid, 0, &its, NULL);
	timer_gettime(tid, &cur);
	CHECK_EQ(cur.it_interval.tv_nsec, 5000000, "timer_gettime returns the interval");
	sleep_ms(80);
	siginfo_t si;
	memset(&si, 0, sizeof si);
	CHECK_EQ(take(sig, &si, 1000), sig, "the periodic timer's signal is pending");
	CHECK(si.si_overrun >= 3, "si_overrun counts the expirations while the signal was pending");
	CHECK_EQ(timer_getoverrun(tid), si.si_overrun, "timer_getoverrun matches si_overrun");
	CHECK_OK(timer_delete(tid), "timer_delete succeeds");
	CHECK_ERRNO(timer_gettime(tid, &cur), EINVAL, "timer_gettime of a deleted timer fails EINVAL");
	take(sig, &si, 0);
	unblock(sig);

	memset(&ev, 0, sizeof ev);
	ev.sigev_notify = SIGEV_NONE;
	CHECK_OK(timer_create(CLOCK_REALTIME, &ev, &tid), "timer_create with SIGEV_NONE succeeds");
	its = (struct itimerspec){{0, 0}, {10, 0}};
	timer_settime(tid, 0, &its, NULL);
	timer_gettime(tid, &cur);
	CHECK(cur.it_value.tv_sec >= 9 && cur.it_value.tv_sec <= 10, "a SIGEV_NONE timer counts down");
	timer_delete(tid);

	memset(&ev, 0, sizeof ev);
	ev.sigev_notify = SIGEV_THREAD_ID;
	ev.sigev_signo = sig;
	ev.sigev_value.sival_int = 77;
	ev._sigev_un._tid = gettid();
	CHECK_OK(timer_create(CLOCK_MONOTONIC, &ev, &tid), "timer_create with SIGEV_THREAD_ID succeeds");
	block(sig);
	its = (struct itimerspec){{0, 0}, {0, 10000000}};
	timer_settime(tid, 0, &its, NULL);
	memset(&si, 0, sizeof si);
	CHECK_EQ(take(sig, &si, 2000), sig, "a SIGEV_THREAD_ID timer signals the thread");
	CHECK_EQ(si.si_value.sival_int, 77, "the SIGEV_THREAD_ID signal carries si_value");
	timer_delete(tid);
	unblock(sig);

	CHECK_OK(timer_create(CLOCK_PROCESS_CPUTIME_ID, NULL, &tid), "timer_create on the process CPU clock succeeds");
	timer_delete(tid);
	ev.sigev_notify = SIGEV_SIGNAL;
	ev.sigev_signo = 65;
	CHECK_ERRNO(timer_create(CLOCK_MONOTONIC, &ev, &tid), EINVAL, "timer_create with an invalid signal fails EINVAL");
	signal(sig, SIG_DFL);
}

static void test_itimers(void) {
	CHECK_EQ(alarm(10), 0, "alarm with no previous alarm returns 0");
	CHECK_EQ(alarm(0), 10, "alarm returns the seconds left of the previous alarm");
	struct itimerval it = {{0, 0}, {1, 0}}, cur;
	CHECK_OK(setitimer(ITIMER_REAL, &it, NULL), "setitimer ITIMER_REAL succeeds");
	CHECK_OK(getitimer(ITIMER_REAL, &cur), "getitimer ITIMER_REAL succeeds");
	CHECK(cur.it_value.tv_sec == 1 || (cur.it_value.tv_sec == 0 && cur.it_value.tv_usec > 0),
	      "getitimer returns the time left");
	it = (struct itimerval){{0, 0}, {0, 0}};
	setitimer(ITIMER_REAL, &it, &cur);
	CHECK(cur.it_value.tv_sec == 1 || cur.it_value.tv_usec > 0, "setitimer returns the old value");

	handle(SIGALRM, on_count);
	alrm_count = 0;
	it = (struct itimerval){{0, 10000}, {0, 10000}};
	setitimer(ITIMER_REAL, &it, NULL);
	long long t0 = now_ms();
	while (alrm_count < 3 && now_ms() - t0 < 5000)
		pause();
	it = (struct itimerval){{0, 0}, {0, 0}};
	setitimer(ITIMER_REAL, &it, NULL);
	CHECK(alrm_count >= 3, "a periodic ITIMER_REAL sends SIGALRM repeatedly");

	handle(SIGVTALRM, on_count);
	handle(SIGPROF, on_count);
	it = (struct itimerval){{0, 0}, {0, 30000}};
	CHECK_OK(setitimer(ITIMER_VIRTUAL, &it, NULL), "setitimer ITIMER_VIRTUAL succeeds");
	CHECK_OK(setitimer(ITIMER_PROF, &it, NULL), "setitimer ITIMER_PROF succeeds");
	getitimer(ITIMER_VIRTUAL, &cur);
	CHECK(cur.it_value.tv_usec > 0 && cur.it_value.tv_usec <= 40000, "getitimer ITIMER_VIRTUAL returns the time left");
	t0 = now_ms();
	volatile unsigned long spin = 0;
	while ((!vt_count || !prof_count) && now_ms() - t0 < 5000)
		for (int i = 0; i < 100000; i++)
			spin++;
	CHECK_EQ(vt_count, 1, "ITIMER_VIRTUAL sends SIGVTALRM after CPU time");
	CHECK_EQ(prof_count, 1, "ITIMER_PROF sends SIGPROF after CPU time");
	CHECK_ERRNO(setitimer(5, &it, NULL), EINVAL, "setitimer with an invalid timer fails EINVAL");
	signal(SIGALRM, SIG_DFL);
}

static volatile sig_atomic_t got_pdeath;
static void on_pdeath(int sig) { (void)sig, got_pdeath = 1; }

static void test_pdeathsig(void) {
	int pfd[2];
	pipe(pfd);
	pid_t mid = fork();
	if (mid == 0) {
		mid = getpid();
		pid_t child = fork();
		if (child == 0) {
			handle(SIGUSR1, on_pdeath);
			prctl(PR_SET_PDEATHSIG, SIGUSR1);
			int got = 0;
			prctl(PR_GET_PDEATHSIG, &got);
			if (got != SIGUSR1 || getppid() != mid)
				_exit(1);
			write(pfd[1], "r", 1);
			long long t0 = now_ms();
			while (!got_pdeath && now_ms() - t0 < 5000)
				sleep_ms(5);
			write(pfd[1], got_pdeath ? "p" : "n", 1);
			write(pfd[1], getppid() != mid ? "o" : "s", 1);
			_exit(0);
		}
		sleep_ms(5000);
		_exit(0);
	}
	close(pfd[1]);
	CHECK_EQ(read_byte(pfd[0], 5000), 'r', "the grandchild set PR_SET_PDEATHSIG");
	kill(mid, SIGKILL);
	exit_code(mid);
	CHECK_EQ(read_byte(pfd[0], 5000), 'p', "PR_SET_PDEATHSIG is delivered when the parent dies");
	CHECK_EQ(read_byte(pfd[0], 5000), 'o', "the orphan has a new parent");
	close(pfd[0]);
}

static volatile sig_atomic_t got_hup;
static void on_hup(int sig) { (void)sig, got_hup = 1; }

static void test_orphans(void) {
	/* SIGTSTP to an orphaned process group does not stop it. */
	pid_t pid = fork();
	if (pid == 0) {
		setsid();
		raise(SIGTSTP);
		_exit(7);
	}
	int s;
	waitpid(pid, &s, WUNTRACED);
	CHECK(WIFEXITED(s) && WEXITSTATUS(s) == 7, "SIGTSTP to an orphaned process group is discarded");
	if (WIFSTOPPED(s)) {
		kill(pid, SIGKILL);
		wait_status(pid);
	}

	/* A stopped group that becomes orphaned gets SIGHUP and SIGCONT. */
	int pfd[2];
	pipe(pfd);
	pid_t sess = fork();
	if (sess == 0) {
		setsid();
		pid_t leader = fork();
		if (leader == 0) {
			setpgid(0, 0);
			pid_t member = fork();
			if (member == 0) {
				handle(SIGHUP, on_hup);
				pid_t me = getpid();
				write(pfd[1], &me, sizeof me);
				raise(SIGSTOP);
				write(pfd[1], got_hup ? "H" : "x", 1);
				_exit(0);
			}
			waitpid(member, &s, WUNTRACED);
			_exit(WIFSTOPPED(s) ? 0 : 1);
		}
		_exit(exit_code(leader));
	}
	close(pfd[1]);
	pid_t member = 0;
	struct pollfd p = {pfd[0], POLLIN, 0};
	if (poll(&p, 1, 5000) == 1)
		read(pfd[0], &member, sizeof member);
	CHECK_EQ(exit_code(sess), 0, "the group's member stopped before its parent left");
	CHECK_EQ(read_byte(pfd[0], 5000), 'H', "a newly orphaned stopped group gets SIGHUP and SIGCONT");
	if (member > 0)
		kill(member, SIGKILL);
	close(pfd[0]);
}

int main(void) {
	test_sigtimedwait();
	test_sigqueue();
	test_signalfd();
	test_timerfd();
	test_posix_timers();
	test_itimers();
	test_pdeathsig();
	test_orphans();
	return check_done();
}
