/* dup, dup2, dup3, fcntl (F_DUPFD, F_DUPFD_CLOEXEC, F_GETFD, F_SETFD, F_GETFL, F_SETFL) and close. */
#include "../check.h"
#include <fcntl.h>

int main(void) {
	char path[] = "/tmp/conf-fd-XXXXXX";
	int fd = CHECK_OK(mkstemp(path), "mkstemp creates a scratch file");
	unlink(path);
	write(fd, "abcdef", 6);
	lseek(fd, 0, SEEK_SET);

	/* Make a known hole in the fd table: fds 10 and 11 free, 12 used. */
	CHECK_EQ(dup2(fd, 12), 12, "dup2 to fd 12 returns 12");
	int want = 0;
	while (fcntl(want, F_GETFD) >= 0)
		want++;
	int low = dup(fd);
	CHECK_EQ(low, want, "dup returns the lowest free fd");
	char c;
	CHECK_EQ(read(low, &c, 1), 1, "read one byte through the dup");
	CHECK_EQ(lseek(fd, 0, SEEK_CUR), 1, "dup shares the file offset with the original");
	close(low);
	CHECK_EQ(dup(fd), low, "dup reuses a closed fd number");
	close(low);

	CHECK_EQ(dup2(fd, fd), fd, "dup2 of an fd onto itself returns it");
	CHECK_ERRNO(dup2(500, 13), EBADF, "dup2 of a bad fd fails EBADF");
	CHECK_ERRNO(fcntl(13, F_GETFD), EBADF, "a failed dup2 does not create the target fd");
	int p[2];
	pipe(p);
	CHECK_EQ(dup2(p[0], 12), 12, "dup2 onto an open fd succeeds");
	CHECK_ERRNO(lseek(12, 0, SEEK_CUR), ESPIPE, "dup2 replaced the file the target fd referred to");
	close(p[0]);
	close(p[1]);
	close(12);

	CHECK_OK(fcntl(fd, F_SETFD, FD_CLOEXEC), "F_SETFD FD_CLOEXEC");
	CHECK_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC, "F_GETFD reports FD_CLOEXEC after F_SETFD");
	int d = dup(fd);
	CHECK_EQ(fcntl(d, F_GETFD), 0, "dup does not copy FD_CLOEXEC");
	close(d);
	d = dup2(fd, 20);
	CHECK_EQ(fcntl(d, F_GETFD), 0, "dup2 clears FD_CLOEXEC on the new fd");
	close(d);
	CHECK_OK(fcntl(fd, F_SETFD, 0), "F_SETFD 0");
	CHECK_EQ(fcntl(fd, F_GETFD), 0, "F_GETFD reports 0 after clearing");

	CHECK_EQ(dup3(fd, 21, O_CLOEXEC), 21, "dup3 O_CLOEXEC returns the target fd");
	CHECK_EQ(fcntl(21, F_GETFD), FD_CLOEXEC, "dup3 O_CLOEXEC sets FD_CLOEXEC");
	close(21);
	CHECK_ERRNO(dup3(fd, fd, 0), EINVAL, "dup3 onto the same fd fails EINVAL");
	CHECK_ERRNO(dup3(fd, 22, O_NONBLOCK), EINVAL, "dup3 with a flag other than O_CLOEXEC fails EINVAL");

	d = CHECK_OK(fcntl(fd, F_DUPFD, 30), "F_DUPFD 30");
	CHECK(d >= 30, "F_DUPFD returns an fd >= its argument");
	CHECK_EQ(fcntl(d, F_GETFD), 0, "F_DUPFD leaves FD_CLOEXEC clear");
	int d2 = fcntl(fd, F_DUPFD, 30);
	CHECK(d2 > d, "F_DUPFD skips fds already in use");
	close(d2);
	close(d);
	d = CHECK_OK(fcntl(fd, F_DUPFD_CLOEXEC, 40), "F_DUPFD_CLOEXEC 40");
	CHECK_EQ(fcntl(d, F_GETFD), FD_CLOEXEC, "F_DUPFD_CLOEXEC sets FD_CLOEXEC");
	close(d);
	CHECK_ERRNO(fcntl(fd, F_DUPFD, -1), EINVAL, "F_DUPFD with a negative minimum fails EINVAL");

	CHECK_EQ(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDWR, "F_GETFL reports the O_RDWR access mode");
	int ro = open("/etc/passwd", O_RDONLY);
	CHECK_EQ(fcntl(ro, F_GETFL) & O_ACCMODE, O_RDONLY, "F_GETFL reports the O_RDONLY access mode");
	close(ro);
	int ap = open("/tmp", O_RDONLY | O_DIRECTORY);
	CHECK(fcntl(ap, F_GETFL) & O_DIRECTORY, "F_GETFL reports O_DIRECTORY");
	close(ap);
	CHECK_OK(fcntl(fd, F_SETFL, O_APPEND), "F_SETFL O_APPEND");
	CHECK(fcntl(fd, F_GETFL) & O_APPEND, "F_GETFL reports O_APPEND after F_SETFL");
	d = dup(fd);
	CHECK(fcntl(d, F_GETFL) & O_APPEND, "status flags are shared by dup'd fds");
	close(d);

	CHECK_OK(close(fd), "close of an open fd succeeds");
	CHECK_ERRNO(close(fd), EBADF, "close of an already closed fd fails EBADF");
	CHECK_ERRNO(close(-1), EBADF, "close(-1) fails EBADF");
	CHECK_ERRNO(close(9999), EBADF, "close of a never opened fd fails EBADF");
	CHECK_ERRNO(fcntl(fd, F_GETFL), EBADF, "fcntl on a closed fd fails EBADF");
	CHECK_ERRNO(dup(fd), EBADF, "dup of a closed fd fails EBADF");
	return check_done();
}
