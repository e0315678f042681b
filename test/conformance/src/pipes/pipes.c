/* pipe and pipe2: flags, blocking and non-blocking I/O, EOF, EPIPE. */
#include "../check.h"
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>

static void sleep_ms(long ms) {
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int main(void) {
	int p[2];
	char buf[256];
	CHECK_OK(pipe(p), "pipe creates two fds");
	CHECK(p[0] >= 0 && p[1] >= 0 && p[0] != p[1], "pipe returns two distinct fds");
	CHECK_EQ(fcntl(p[0], F_GETFD), 0, "pipe fds have FD_CLOEXEC clear");
	CHECK_EQ(fcntl(p[0], F_GETFL) & O_ACCMODE, O_RDONLY, "the read end is O_RDONLY");
	CHECK_EQ(fcntl(p[1], F_GETFL) & O_ACCMODE, O_WRONLY, "the write end is O_WRONLY");
	CHECK_EQ(write(p[1], "hello", 5), 5, "write to a pipe");
	memset(buf, 0, sizeof buf);
	CHECK_EQ(read(p[0], buf, 2), 2, "a short read takes only what was asked");
	CHECK_EQ(read(p[0], buf + 2, sizeof buf - 3), 3, "the next read returns the remainder");
	CHECK_STREQ(buf, "hello", "bytes come out in order");
	CHECK_ERRNO(write(p[0], "x", 1), EBADF, "write to the read end fails EBADF");
	CHECK_ERRNO(read(p[1], buf, 1), EBADF, "read from the write end fails EBADF");
	struct stat st;
	CHECK_OK(fstat(p[0], &st), "fstat of a pipe end");
	CHECK(S_ISFIFO(st.st_mode), "a pipe is S_IFIFO");

	int w2 = dup(p[1]);
	close(p[1]);
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	CHECK_ERRNO(read(p[0], buf, 1), EAGAIN, "no EOF while a dup of the write end is open");
	close(w2);
	CHECK_EQ(read(p[0], buf, 1), 0, "read returns 0 (EOF) once every writer is closed");
	close(p[0]);

	CHECK_OK(pipe2(p, O_CLOEXEC), "pipe2 O_CLOEXEC");
	CHECK(fcntl(p[0], F_GETFD) == FD_CLOEXEC && fcntl(p[1], F_GETFD) == FD_CLOEXEC, "pipe2 O_CLOEXEC sets FD_CLOEXEC on both ends");
	CHECK(!(fcntl(p[0], F_GETFL) & O_NONBLOCK), "pipe2 O_CLOEXEC leaves the pipe blocking");
	close(p[0]);
	close(p[1]);
	CHECK_ERRNO(pipe2(p, O_RDWR), EINVAL, "pipe2 with an invalid flag fails EINVAL");

	CHECK_OK(pipe2(p, O_NONBLOCK), "pipe2 O_NONBLOCK");
	CHECK((fcntl(p[0], F_GETFL) & O_NONBLOCK) && (fcntl(p[1], F_GETFL) & O_NONBLOCK), "F_GETFL shows O_NONBLOCK on both ends");
	CHECK_ERRNO(read(p[0], buf, 1), EAGAIN, "read from an empty O_NONBLOCK pipe fails EAGAIN");
	char big[4096];
	memset(big, 'b', sizeof big);
	long total = 0, n;
	while ((n = write(p[1], big, sizeof big)) > 0 && total < (1L << 24))
		total += n;
	CHECK(n == -1 && errno == EAGAIN, "writing to a full O_NONBLOCK pipe fails EAGAIN");
	CHECK(total >= 4096, "a pipe holds at least a page before it is full");
	long drained = 0;
	while ((n = read(p[0], big, sizeof big)) > 0)
		drained += n;
	CHECK_EQ(drained, total, "every byte written before EAGAIN can be read back");
	signal(SIGPIPE, SIG_IGN);
	close(p[0]);
	CHECK_ERRNO(write(p[1], "x", 1), EPIPE, "write to a pipe without readers fails EPIPE when SIGPIPE is ignored");
	close(p[1]);

	CHECK_OK(pipe2(p, O_CLOEXEC | O_NONBLOCK), "pipe2 O_CLOEXEC|O_NONBLOCK");
	CHECK(fcntl(p[1], F_GETFD) == FD_CLOEXEC && (fcntl(p[1], F_GETFL) & O_NONBLOCK), "pipe2 applies both flags together");
	close(p[0]);
	close(p[1]);

	/* Across fork: the child writes after a delay; the blocking read waits. */
	pipe(p);
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		sleep_ms(100);
		write(p[1], "from child", 10);
		_exit(0);
	}
	close(p[1]);
	memset(buf, 0, sizeof buf);
	CHECK_EQ(read(p[0], buf, sizeof buf), 10, "a blocking read waits for the child's write");
	CHECK_STREQ(buf, "from child", "the parent reads what the child wrote");
	CHECK_EQ(read(p[0], buf, sizeof buf), 0, "EOF after the child (the last writer) exits");
	exit_code(pid);
	close(p[0]);
	return check_done();
}
