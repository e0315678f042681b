/* The O_ASYNC owner interface: FIOASYNC, F_SETOWN/F_GETOWN, F_SETOWN_EX,
 * F_SETSIG (nginx sets these on its worker channels). */
#include "../check.h"
#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>

int main(void) {
	int p[2];
	if (CHECK_OK(pipe(p), "pipe") < 0)
		return check_done();
	int on = 1, off = 0;
	CHECK_OK(ioctl(p[0], FIOASYNC, &on), "FIOASYNC on a pipe succeeds");
	CHECK((fcntl(p[0], F_GETFL) & O_ASYNC) != 0, "FIOASYNC sets O_ASYNC in F_GETFL");
	CHECK_OK(ioctl(p[0], FIOASYNC, &off), "FIOASYNC off succeeds");
	CHECK((fcntl(p[0], F_GETFL) & O_ASYNC) == 0, "FIOASYNC off clears O_ASYNC");
	CHECK_OK(fcntl(p[0], F_SETOWN, getpid()), "F_SETOWN to our pid succeeds");
	CHECK_EQ(fcntl(p[0], F_GETOWN), getpid(), "F_GETOWN returns the owner");
	struct f_owner_ex ex = {F_OWNER_PID, getpid()}, got = {0, 0};
	CHECK_OK(fcntl(p[1], F_SETOWN_EX, &ex), "F_SETOWN_EX succeeds");
	CHECK_OK(fcntl(p[1], F_GETOWN_EX, &got), "F_GETOWN_EX succeeds");
	CHECK_EQ(got.type, F_OWNER_PID, "F_GETOWN_EX type");
	CHECK_EQ(got.pid, getpid(), "F_GETOWN_EX pid");
	CHECK_OK(fcntl(p[1], F_SETSIG, SIGUSR1), "F_SETSIG succeeds");
	CHECK_EQ(fcntl(p[1], F_GETSIG), SIGUSR1, "F_GETSIG returns the signal");
	CHECK_ERRNO(fcntl(p[1], F_SETSIG, 65), EINVAL, "F_SETSIG above the last signal is EINVAL");
	return check_done();
}
