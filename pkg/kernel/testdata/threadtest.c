// threadtest exercises threads under the sandbox kernel: mutexes and
// condition variables (futexes), pthread_join (CLONE_CHILD_CLEARTID),
// thread-directed signals, FP state across signals and switches,
// exit_group from a thread and execve from a thread. Each check prints
// "ok <name>" or "FAIL <name>".
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void check(int cond, const char *name) {
	printf("%s %s\n", cond ? "ok" : "FAIL", name);
	fflush(stdout);
}

#define NTHREADS 4
#define NITER 2000
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static long counter;
static int turn;

static void *incr(void *arg) {
	(void)arg;
	for (int i = 0; i < NITER; i++) {
		pthread_mutex_lock(&mu);
		counter++;
		pthread_mutex_unlock(&mu);
	}
	return (void *)(long)syscall(SYS_gettid);
}

// pingpong: two threads alternate through a condition variable.
static void *pong(void *arg) {
	long id = (long)arg;
	for (int i = 0; i < 200; i++) {
		pthread_mutex_lock(&mu);
		while (turn != id)
			pthread_cond_wait(&cv, &mu);
		turn = 1 - id;
		pthread_cond_broadcast(&cv);
		pthread_mutex_unlock(&mu);
	}
	return NULL;
}

static volatile sig_atomic_t got_tid;
static void on_usr1(int sig) {
	(void)sig;
	volatile double x = 1.0;
	for (int i = 0; i < 100; i++)
		x = x * 1.5 + 0.25; // clobber FP registers in the handler
	got_tid = syscall(SYS_gettid);
}

static volatile int waiting_ready;
static void *wait_sig(void *arg) {
	(void)arg;
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	pthread_sigmask(SIG_UNBLOCK, &s, NULL);
	waiting_ready = 1;
	while (!got_tid)
		usleep(1000);
	return (void *)(long)syscall(SYS_gettid);
}

// fpwork computes with doubles while signals arrive and threads switch.
static void *fpwork(void *arg) {
	double seed = (double)(long)arg;
	double acc = seed;
	for (int i = 0; i < 200000; i++) {
		acc = acc * 1.0000001 + seed;
		if (i % 20000 == 0)
			sched_yield();
	}
	double want = seed;
	for (int i = 0; i < 200000; i++)
		want = want * 1.0000001 + seed;
	return (void *)(long)(acc == want);
}

static void *do_exit_group(void *arg) {
	(void)arg;
	usleep(10000);
	exit(7);
}

static void *do_exec(void *arg) {
	(void)arg;
	execl("/bin/threadtest", "threadtest", "execed", (char *)NULL);
	_exit(99);
}

static void *sleeper(void *arg) {
	(void)arg;
	for (;;)
		pause();
}

int main(int argc, char **argv) {
	if (argc > 1 && strcmp(argv[1], "execed") == 0) {
		// After execve from a thread: we are the only thread, with the pid.
		printf("execed pid==tid %d\n", getpid() == syscall(SYS_gettid));
		return 5;
	}
	if (argc > 1 && strcmp(argv[1], "exitgroup") == 0) {
		pthread_t a, b;
		pthread_create(&a, NULL, sleeper, NULL);
		pthread_create(&b, NULL, do_exit_group, NULL);
		for (;;)
			pause();
	}
	if (argc > 1 && strcmp(argv[1], "exec") == 0) {
		pthread_t a, b;
		pthread_create(&a, NULL, sleeper, NULL);
		pthread_create(&b, NULL, do_exec, NULL);
		for (;;)
			pause();
	}

	pthread_t th[NTHREADS];
	long tids[NTHREADS];
	for (int i = 0; i < NTHREADS; i++)
		pthread_create(&th[i], NULL, incr, NULL);
	int distinct = 1;
	for (int i = 0; i < NTHREADS; i++) {
		void *ret;
		pthread_join(th[i], &ret);
		tids[i] = (long)ret;
		if (tids[i] == getpid())
			distinct = 0;
	}
	check(counter == NTHREADS * NITER, "mutex-counter");
	check(distinct && tids[0] != tids[1], "thread-ids");

	pthread_t p0, p1;
	pthread_create(&p0, NULL, pong, (void *)0L);
	pthread_create(&p1, NULL, pong, (void *)1L);
	pthread_join(p0, NULL);
	pthread_join(p1, NULL);
	check(1, "condvar");

	// A process-directed signal blocked in main goes to the thread that
	// does not block it; tgkill targets one thread.
	struct sigaction sa = {0};
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &s, NULL);
	pthread_t w;
	pthread_create(&w, NULL, wait_sig, NULL);
	while (!waiting_ready)
		usleep(1000);
	kill(getpid(), SIGUSR1);
	void *wtid;
	pthread_join(w, &wtid);
	check(got_tid == (long)wtid && got_tid != getpid(), "process-signal-to-unblocked-thread");

	got_tid = 0;
	pthread_sigmask(SIG_UNBLOCK, &s, NULL);
	pthread_t sl;
	pthread_create(&sl, NULL, wait_sig, NULL);
	while (!waiting_ready)
		usleep(1000);
	pthread_kill(sl, SIGUSR1);
	pthread_join(sl, &wtid);
	check(got_tid == (long)wtid, "pthread_kill");

	// FP state survives handlers and switches between threads.
	pthread_t f1, f2;
	pthread_create(&f1, NULL, fpwork, (void *)3L);
	pthread_create(&f2, NULL, fpwork, (void *)5L);
	for (int i = 0; i < 20; i++) {
		pthread_kill(f1, SIGUSR1);
		pthread_kill(f2, SIGUSR1);
		usleep(500);
	}
	void *r1, *r2;
	pthread_join(f1, &r1);
	pthread_join(f2, &r2);
	volatile double mine = 2.5;
	raise(SIGUSR1);
	check(r1 && r2 && mine * 2 == 5.0, "fp-state");

	// exit_group from a thread ends the whole process with its status.
	pid_t pid = fork();
	if (pid == 0) {
		execl("/bin/threadtest", "threadtest", "exitgroup", (char *)NULL);
		_exit(98);
	}
	int st;
	check(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 7, "exit_group-from-thread");

	// execve from a thread kills the others and takes the pid.
	pid = fork();
	if (pid == 0) {
		execl("/bin/threadtest", "threadtest", "exec", (char *)NULL);
		_exit(98);
	}
	check(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 5, "execve-from-thread");

	// The main thread exits first; the process lives on until the last
	// thread, and wait4 sees one process.
	pid = fork();
	if (pid == 0) {
		pthread_t x;
		pthread_create(&x, NULL, do_exit_group, NULL);
		pthread_exit(NULL);
	}
	check(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 7, "leader-exits-first");
	return 0;
}
