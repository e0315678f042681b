/* Signal-driven I/O: a file with O_ASYNC signals its F_SETOWN owner when
 * input arrives, with SIGIO or with the F_SETSIG signal and a siginfo naming
 * the fd and the band. */
#include "../check.h"
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>

/* waitsig waits up to ms milliseconds for sig (blocked) and returns its
 * siginfo's signo, or -1 with errno EAGAIN when none came. */
static int waitsig(int sig, int ms, siginfo_t *si) {
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, sig);
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
	return sigtimedwait(&set, si, &ts);
}

/* async sets O_ASYNC on fd with owner (a pid, or -pgid). */
static int async(int fd, pid_t owner) {
	if (fcntl(fd, F_SETOWN, owner) < 0)
		return -1;
	return fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_ASYNC);
}

static volatile sig_atomic_t handled;
static void on_sigio(int sig) { handled = sig; }

int main(void) {
	/* A process group of our own: the socket below signals all of it. */
	setpgid(0, 0);
	sigset_t block;
	sigemptyset(&block);
	sigaddset(&block, SIGIO);
	sigaddset(&block, SIGRTMIN);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, NULL);
	siginfo_t si;

	int p[2];
	if (CHECK_OK(pipe(p), "pipe") < 0)
		return check_done();
	CHECK_OK(async(p[0], getpid()), "O_ASYNC and F_SETOWN on the read end");
	CHECK_ERRNO(waitsig(SIGIO, 100, &si), EAGAIN, "no SIGIO before any input");
	CHECK_EQ(write(p[1], "a", 1), 1, "write to the pipe");
	CHECK_EQ(waitsig(SIGIO, 2000, &si), SIGIO, "input on an O_ASYNC pipe sends SIGIO to the owner");
	CHECK_EQ(si.si_code, SI_KERNEL, "a plain SIGIO has si_code SI_KERNEL");

	char buf[8];
	CHECK_EQ(read(p[0], buf, sizeof buf), 1, "read the input");
	CHECK_OK(fcntl(p[0], F_SETSIG, SIGRTMIN), "F_SETSIG SIGRTMIN");
	CHECK_EQ(write(p[1], "b", 1), 1, "write again");
	CHECK_EQ(waitsig(SIGRTMIN, 2000, &si), SIGRTMIN, "with F_SETSIG the owner gets that signal");
	CHECK_EQ(si.si_code, POLL_IN, "its si_code is POLL_IN");
	CHECK_EQ(si.si_fd, p[0], "its si_fd is the O_ASYNC fd");
	CHECK((si.si_band & POLLIN) != 0, "its si_band has POLLIN");
	CHECK_EQ(read(p[0], buf, sizeof buf), 1, "read the second input");

	CHECK_OK(fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) & ~O_ASYNC), "clear O_ASYNC");
	CHECK_EQ(write(p[1], "c", 1), 1, "write with O_ASYNC off");
	CHECK_ERRNO(waitsig(SIGRTMIN, 200, &si), EAGAIN, "no signal once O_ASYNC is cleared");
	CHECK_EQ(read(p[0], buf, sizeof buf), 1, "read the third input");

	int s[2];
	if (CHECK_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, s), "socketpair") == 0) {
		int on = 1;
		CHECK_OK(fcntl(s[0], F_SETOWN, -getpgrp()), "F_SETOWN to our process group");
		CHECK_OK(fcntl(s[0], F_SETSIG, SIGUSR1), "F_SETSIG SIGUSR1 on the socket");
		CHECK_OK(ioctl(s[0], FIOASYNC, &on), "FIOASYNC on the socket");
		CHECK_EQ(write(s[1], "x", 1), 1, "write to the peer");
		CHECK_EQ(waitsig(SIGUSR1, 2000, &si), SIGUSR1, "a unix socket signals its owning process group");
		CHECK_EQ(si.si_code, POLL_IN, "socket input has si_code POLL_IN");
		CHECK_EQ(si.si_fd, s[0], "and the socket's fd");
	}

	/* Regular files are always ready: no signal, as on Linux. */
	int f = CHECK_OK(open("/tmp/sigio-file", O_RDWR | O_CREAT | O_TRUNC, 0600), "create a regular file");
	if (f >= 0) {
		CHECK_OK(async(f, getpid()), "O_ASYNC on a regular file");
		CHECK_EQ(write(f, "data", 4), 4, "write to it");
		CHECK_ERRNO(waitsig(SIGIO, 200, &si), EAGAIN, "a regular file sends no SIGIO");
		unlink("/tmp/sigio-file");
	}

	/* A handler runs when SIGIO is not blocked. */
	CHECK_OK(fcntl(p[0], F_SETSIG, 0), "F_SETSIG 0 restores plain SIGIO");
	CHECK_OK(async(p[0], getpid()), "O_ASYNC on the pipe again");
	signal(SIGIO, on_sigio);
	sigset_t unblock;
	sigemptyset(&unblock);
	sigaddset(&unblock, SIGIO);
	sigprocmask(SIG_UNBLOCK, &unblock, NULL);
	CHECK_EQ(write(p[1], "d", 1), 1, "write with a SIGIO handler");
	for (int i = 0; i < 200 && !handled; i++) {
		struct timespec ts = {0, 10000000};
		nanosleep(&ts, NULL);
	}
	CHECK_EQ(handled, SIGIO, "the SIGIO handler ran");
	return check_done();
}
