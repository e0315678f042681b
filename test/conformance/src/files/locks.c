/* flock(2) and fcntl record locks: POSIX (per process) and OFD (per open file description). */
#include "../check.h"
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <time.h>

static char path[] = "/tmp/conf-locks-XXXXXX";

static int setlk(int fd, int cmd, short type, off_t start, off_t len) {
	struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
	return fcntl(fd, cmd, &fl);
}

static void pause_ms(int ms) {
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* child_status runs fn in a child and returns its exit status. */
static int child_status(int (*fn)(void)) {
	pid_t pid = fork();
	if (pid == 0)
		_exit(fn());
	int st;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 100 + WTERMSIG(st);
}

static pid_t parent;

/* Child checks while the parent holds a write lock on [0, 10). */
static int probe_locked(void) {
	int fd = open(path, O_RDWR);
	struct flock fl = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 5, .l_len = 1};
	if (fcntl(fd, F_GETLK, &fl) != 0)
		return 1;
	if (fl.l_type != F_WRLCK || fl.l_pid != parent || fl.l_start != 0 || fl.l_len != 10)
		return 2;
	if (setlk(fd, F_SETLK, F_RDLCK, 5, 1) == 0 || (errno != EAGAIN && errno != EACCES))
		return 3;
	if (setlk(fd, F_SETLK, F_WRLCK, 10, 5) != 0)
		return 4; /* beyond the parent's range */
	return 0;
}

static int probe_free(void) {
	int fd = open(path, O_RDWR);
	return setlk(fd, F_SETLK, F_WRLCK, 0, 10) == 0 ? 0 : 1;
}

static int probe_flock_busy(void) {
	int fd = open(path, O_RDWR);
	if (flock(fd, LOCK_SH | LOCK_NB) == 0)
		return 1;
	return errno == EWOULDBLOCK ? 0 : 2;
}

static void on_alarm(int sig) { (void)sig; }

int main(void) {
	parent = getpid();
	int fd = CHECK_OK(mkstemp(path), "mkstemp");
	CHECK_EQ(write(fd, "0123456789abcdef", 16), 16, "fill the file");

	/* flock */
	int fd2 = CHECK_OK(open(path, O_RDWR), "second open file description");
	CHECK_OK(flock(fd, LOCK_EX), "flock LOCK_EX");
	CHECK_ERRNO(flock(fd2, LOCK_SH | LOCK_NB), EWOULDBLOCK, "another description cannot share an exclusive flock");
	CHECK_OK(flock(fd, LOCK_EX | LOCK_NB), "re-locking the same description succeeds");
	CHECK_EQ(child_status(probe_flock_busy), 0, "another process sees the flock");
	int dupfd = CHECK_OK(dup(fd), "dup");
	CHECK_OK(flock(dupfd, LOCK_UN), "LOCK_UN through a dup releases the description's lock");
	CHECK_OK(flock(fd2, LOCK_SH | LOCK_NB), "shared flock after unlock");
	CHECK_OK(flock(fd, LOCK_SH | LOCK_NB), "two shared flocks coexist");
	CHECK_ERRNO(flock(fd, LOCK_EX | LOCK_NB), EWOULDBLOCK, "upgrade to LOCK_EX blocked by another shared lock");
	close(fd2);
	CHECK_OK(flock(fd, LOCK_EX | LOCK_NB), "closing the other description released its flock");
	CHECK_ERRNO(flock(fd, 0), EINVAL, "flock with no operation fails EINVAL");
	flock(fd, LOCK_UN);
	close(dupfd);

	/* POSIX record locks */
	CHECK_OK(setlk(fd, F_SETLK, F_WRLCK, 0, 10), "F_SETLK write lock on [0,10)");
	CHECK_EQ(child_status(probe_locked), 0, "child sees the lock with F_GETLK (type, l_pid, range) and F_SETLK fails");
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
	CHECK_OK(fcntl(fd, F_GETLK, &fl), "F_GETLK on own lock");
	CHECK_EQ(fl.l_type, F_UNLCK, "a process's own locks never conflict");
	int other = CHECK_OK(open(path, O_RDONLY), "open the file again");
	CHECK_ERRNO(setlk(other, F_SETLK, F_WRLCK, 0, 1), EBADF, "write lock on a read-only fd fails EBADF");
	close(other);
	CHECK_EQ(child_status(probe_free), 0, "closing any fd of the file released the process's locks");

	/* F_SETLKW waits; EDEADLK for a two-process cycle. */
	CHECK_OK(setlk(fd, F_SETLK, F_WRLCK, 0, 1), "parent locks byte 0");
	int sync[2];
	pipe(sync);
	pid_t pid = fork();
	if (pid == 0) {
		int cfd = open(path, O_RDWR);
		if (setlk(cfd, F_SETLK, F_WRLCK, 1, 1) != 0)
			_exit(1);
		write(sync[1], "x", 1);
		if (setlk(cfd, F_SETLKW, F_WRLCK, 0, 1) != 0) /* waits for the parent */
			_exit(2);
		_exit(0);
	}
	char c;
	read(sync[0], &c, 1);
	pause_ms(200);
	CHECK_ERRNO(setlk(fd, F_SETLKW, F_WRLCK, 1, 1), EDEADLK, "F_SETLKW that would close a wait cycle fails EDEADLK");
	CHECK_OK(setlk(fd, F_SETLK, F_UNLCK, 0, 1), "parent unlocks byte 0");
	int st;
	waitpid(pid, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the waiting child got the lock after the unlock");

	/* F_SETLKW is interrupted by a signal without SA_RESTART. */
	pid = fork();
	if (pid == 0) {
		int cfd = open(path, O_RDWR);
		setlk(cfd, F_SETLK, F_WRLCK, 0, 0);
		write(sync[1], "x", 1);
		pause_ms(3000);
		_exit(0);
	}
	read(sync[0], &c, 1);
	struct sigaction sa = {.sa_handler = on_alarm};
	sigaction(SIGALRM, &sa, NULL);
	alarm(1);
	CHECK_ERRNO(setlk(fd, F_SETLKW, F_WRLCK, 0, 1), EINTR, "a signal interrupts F_SETLKW with EINTR");
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	CHECK_OK(setlk(fd, F_SETLK, F_WRLCK, 0, 0), "the dead child's locks are gone");
	CHECK_OK(setlk(fd, F_SETLK, F_UNLCK, 0, 0), "unlock all");

	/* OFD locks */
	int a = CHECK_OK(open(path, O_RDWR), "open description a");
	int b = CHECK_OK(open(path, O_RDWR), "open description b");
	CHECK_OK(setlk(a, F_OFD_SETLK, F_WRLCK, 0, 4), "F_OFD_SETLK on a");
	CHECK_ERRNO(setlk(b, F_OFD_SETLK, F_RDLCK, 2, 1), EAGAIN, "OFD locks of two descriptions conflict in one process");
	struct flock ofl = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
	CHECK_OK(fcntl(b, F_OFD_GETLK, &ofl), "F_OFD_GETLK");
	CHECK_EQ(ofl.l_type, F_WRLCK, "F_OFD_GETLK reports the conflicting type");
	CHECK_EQ(ofl.l_pid, -1, "F_OFD_GETLK reports l_pid -1 for OFD locks");
	CHECK_ERRNO(setlk(fd, F_SETLK, F_RDLCK, 0, 1), EAGAIN, "an OFD lock conflicts with the process's POSIX lock");
	struct flock bad = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_pid = 1};
	CHECK_ERRNO(fcntl(b, F_OFD_SETLK, &bad), EINVAL, "F_OFD_SETLK with l_pid set fails EINVAL");
	close(a);
	CHECK_OK(setlk(b, F_OFD_SETLK, F_RDLCK, 2, 1), "closing the description released its OFD lock");
	CHECK_OK(setlk(fd, F_SETLK, F_WRLCK, 10, -5), "negative l_len locks the bytes before l_start");
	fl = (struct flock){.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 7, .l_len = 1};
	CHECK_OK(fcntl(b, F_OFD_GETLK, &fl), "F_OFD_GETLK over the POSIX lock");
	CHECK_EQ(fl.l_start, 5, "conflicting lock starts at l_start + l_len");
	CHECK_EQ(fl.l_len, 5, "conflicting lock has length -l_len");
	CHECK_EQ(fl.l_pid, getpid(), "POSIX lock reported with the owner's pid");
	unlink(path);
	return check_done();
}
