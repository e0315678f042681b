// sigtest exercises the kernel's process and signal paths; built static by
// integration_test.go. It prints one "ok <name>" line per check and exits
// with the number of failed checks.
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int failed;
#define CHECK(name, cond)                                                    \
	do {                                                                     \
		if (cond) {                                                          \
			printf("ok %s\n", name);                                         \
		} else {                                                             \
			printf("FAIL %s (errno %d)\n", name, errno);                     \
			failed++;                                                        \
		}                                                                    \
		fflush(stdout);                                                      \
	} while (0)

static volatile sig_atomic_t got, gotcode, gotpid, onalt;
static char altstack[65536];
static sigjmp_buf jb;
static volatile void *faultaddr;

static void info_handler(int sig, siginfo_t *si, void *uc) {
	got = sig;
	gotcode = si->si_code;
	gotpid = si->si_pid;
	char here;
	onalt = &here >= altstack && &here < altstack + sizeof(altstack);
	(void)uc;
}

static void plain_handler(int sig) { got = sig; }

static void segv_handler(int sig, siginfo_t *si, void *uc) {
	(void)sig; (void)uc;
	faultaddr = si->si_addr;
	siglongjmp(jb, 1);
}

static void set(int sig, void *fn, int flags) {
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = fn;
	sa.sa_flags = flags;
	sigaction(sig, &sa, NULL);
}

// poke sends sig to the parent after ms milliseconds, then writes to fd.
static void poke(int sig, int ms, int fd) {
	if (fork() == 0) {
		usleep(ms * 1000);
		kill(getppid(), sig);
		if (fd >= 0) {
			usleep(ms * 1000);
			write(fd, "x", 1);
		}
		_exit(0);
	}
}

int main(void) {
	int st;

	pid_t pid = vfork();
	if (pid == 0) _exit(7);
	CHECK("vfork", waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 7);

	char *argv[] = {"true", NULL};
	CHECK("posix_spawn", posix_spawn(&pid, "/bin/true", NULL, NULL, argv, NULL) == 0 &&
	                         waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);

	stack_t ss = {.ss_sp = altstack, .ss_size = sizeof(altstack)};
	sigaltstack(&ss, NULL);
	set(SIGUSR1, info_handler, SA_SIGINFO | SA_ONSTACK);
	kill(getpid(), SIGUSR1);
	CHECK("siginfo", got == SIGUSR1 && gotcode == SI_USER && gotpid == getpid());
	CHECK("sigaltstack", onalt);

	int p[2];
	char c;
	pipe(p);
	set(SIGUSR2, plain_handler, SA_RESTART);
	got = 0;
	poke(SIGUSR2, 50, p[1]);
	CHECK("sa_restart", read(p[0], &c, 1) == 1 && got == SIGUSR2);
	wait(NULL);

	set(SIGUSR2, plain_handler, 0);
	got = 0;
	poke(SIGUSR2, 50, p[1]);
	CHECK("eintr", read(p[0], &c, 1) == -1 && errno == EINTR && got == SIGUSR2);
	wait(NULL);
	read(p[0], &c, 1);

	struct timespec req = {5, 0}, rem = {0, 0};
	poke(SIGUSR2, 50, -1);
	CHECK("nanosleep_eintr", nanosleep(&req, &rem) == -1 && errno == EINTR && rem.tv_sec >= 3);
	wait(NULL);

	sigset_t set1, old, pend;
	sigemptyset(&set1);
	sigaddset(&set1, SIGUSR2);
	sigprocmask(SIG_BLOCK, &set1, &old);
	got = 0;
	raise(SIGUSR2);
	sigpending(&pend);
	CHECK("sigpending", got == 0 && sigismember(&pend, SIGUSR2));
	sigsuspend(&old);
	CHECK("sigsuspend", got == SIGUSR2);
	sigprocmask(SIG_SETMASK, &old, NULL);

	set(SIGSEGV, segv_handler, SA_SIGINFO);
	if (sigsetjmp(jb, 1) == 0) {
		*(volatile int *)16 = 1;
	}
	CHECK("sigsegv_handler", faultaddr == (void *)16);

	pid = fork();
	if (pid == 0) abort();
	siginfo_t si;
	memset(&si, 0, sizeof(si));
	CHECK("waitid_nowait", waitid(P_PID, pid, &si, WEXITED | WNOWAIT) == 0 && si.si_pid == pid &&
	                           si.si_code == CLD_KILLED && si.si_status == SIGABRT);
	CHECK("wait_signaled", waitpid(pid, &st, 0) == pid && WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);

	pid = fork();
	if (pid == 0) { pause(); _exit(1); }
	kill(pid, SIGSTOP);
	CHECK("wuntraced", waitpid(pid, &st, WUNTRACED) == pid && WIFSTOPPED(st) && WSTOPSIG(st) == SIGSTOP);
	kill(pid, SIGCONT);
	CHECK("wcontinued", waitpid(pid, &st, WCONTINUED) == pid && WIFCONTINUED(st));
	kill(pid, SIGTERM);
	CHECK("sigterm", waitpid(pid, &st, 0) == pid && WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM);
	CHECK("echild", waitpid(-1, &st, WNOHANG) == -1 && errno == ECHILD);
	return failed;
}
