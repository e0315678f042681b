/* Pseudo-terminals made inside the container: posix_openpt, grantpt,
 * unlockpt, ptsname and TIOCGPTN, the slave's node, the line discipline
 * (canonical editing, echo, ICRNL, ONLCR, raw mode, VMIN/VTIME), window
 * size, FIONREAD, poll, ^C to the foreground group of a session whose
 * controlling terminal the slave is, /dev/tty, TIOCGPTPEER and hang-ups.
 * The spec must mount a devpts at /dev/pts (runc's default spec does). */
#include "../check.h"
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <time.h>

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

/* readable polls fd for input for up to ms milliseconds. */
static int readable(int fd, int ms) {
	struct pollfd p = {.fd = fd, .events = POLLIN};
	int r;
	do
		r = poll(&p, 1, ms);
	while (r < 0 && errno == EINTR);
	return r == 1 && (p.revents & POLLIN);
}

/* collect reads from fd until it has want bytes or nothing came for 2 s;
 * it returns the bytes read, NUL-terminated in buf. */
static size_t collect(int fd, char *buf, size_t cap, size_t want) {
	size_t n = 0;
	while (n < want && n < cap - 1 && readable(fd, 2000)) {
		ssize_t r = read(fd, buf + n, cap - 1 - n);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	buf[n] = 0;
	return n;
}

/* expect reads from fd until what it read contains want or nothing came
 * for 2 s, and reports whether it did. */
static int expect(int fd, const char *want) {
	char buf[256];
	size_t n = 0;
	buf[0] = 0;
	while (!strstr(buf, want) && n < sizeof buf - 1 && readable(fd, 2000)) {
		ssize_t r = read(fd, buf + n, sizeof buf - 1 - n);
		if (r <= 0)
			break;
		n += (size_t)r;
		buf[n] = 0;
	}
	return strstr(buf, want) != NULL;
}

/* drain discards what fd has to read now (echoes). */
static void drain(int fd) {
	char buf[256];
	while (readable(fd, 100) && read(fd, buf, sizeof buf) > 0) {
	}
}

static void put(int fd, const char *s) {
	if (write(fd, s, strlen(s)) != (ssize_t)strlen(s))
		check_printf("# short write\n");
}

/* line writes s to the master and returns what one read of the slave
 * gives, NUL-terminated. */
static const char *line(int m, int s, const char *in) {
	static char buf[256];
	put(m, in);
	ssize_t r = readable(s, 2000) ? read(s, buf, sizeof buf - 1) : -1;
	buf[r < 0 ? 0 : r] = 0;
	drain(m);
	return buf;
}

/* openpt makes a pty and returns its unlocked master and slave. */
static int openpt(int *slave) {
	int m = posix_openpt(O_RDWR | O_NOCTTY);
	if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0)
		return -1;
	*slave = open(ptsname(m), O_RDWR | O_NOCTTY);
	return *slave < 0 ? -1 : m;
}

static volatile sig_atomic_t got_sig;
static void on_sig(int sig) { got_sig = sig; }

/* ctty_child runs in a new session with the slave of pts as its
 * controlling terminal: it checks /dev/tty, tells the parent through
 * ready, and exits with 40 + the first of SIGINT or SIGHUP it gets (an
 * alarm kills it after 10 s). */
static int ctty_child(const char *pts, int ready, int use_ioctl, int slave, int master) {
	close(master); /* the parent's close must hang the pty up */
	sigset_t block, old;
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &old);
	signal(SIGINT, on_sig);
	signal(SIGHUP, on_sig);
	alarm(10);
	if (setsid() < 0)
		return 2;
	int s = slave;
	if (use_ioctl) {
		if (ioctl(s, TIOCSCTTY, 0) < 0)
			return 3;
	} else if ((s = open(pts, O_RDWR)) < 0) { /* no O_NOCTTY: becomes the ctty */
		return 4;
	}
	int t = open("/dev/tty", O_RDWR);
	if (t < 0)
		return 5;
	if (tcgetsid(t) != getpid() || tcgetpgrp(s) != getpid())
		return 6;
	if (write(ready, "r", 1) != 1)
		return 7;
	while (!got_sig)
		sigsuspend(&old);
	return 40 + got_sig;
}

/* start_ctty_child forks ctty_child and waits until it is ready. */
static pid_t start_ctty_child(const char *pts, int use_ioctl, int slave, int master) {
	int p[2];
	if (pipe(p) < 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		_exit(ctty_child(pts, p[1], use_ioctl, slave, master));
	}
	close(p[1]);
	char c;
	int ok = readable(p[0], 10000) && read(p[0], &c, 1) == 1;
	close(p[0]);
	return ok ? pid : -pid;
}

static void check_basics(void) {
	int m = CHECK_OK(posix_openpt(O_RDWR | O_NOCTTY), "posix_openpt opens a master");
	CHECK(isatty(m), "the master is a tty");
	CHECK_OK(grantpt(m), "grantpt succeeds");
	char name[64];
	snprintf(name, sizeof name, "%s", ptsname(m));
	CHECK(strncmp(name, "/dev/pts/", 9) == 0, "ptsname is /dev/pts/N");
	unsigned n = 99999;
	CHECK_OK(ioctl(m, TIOCGPTN, &n), "TIOCGPTN succeeds");
	char want[64];
	snprintf(want, sizeof want, "/dev/pts/%u", n);
	CHECK_STREQ(name, want, "TIOCGPTN matches ptsname");
	int lock = 0;
	CHECK_OK(ioctl(m, TIOCGPTLCK, &lock), "TIOCGPTLCK succeeds");
	CHECK_EQ(lock, 1, "a new pty is locked");
	CHECK_ERRNO(open(name, O_RDWR | O_NOCTTY), EIO, "a locked slave does not open");
	CHECK_OK(unlockpt(m), "unlockpt succeeds");

	struct stat st, mst;
	CHECK_OK(stat(name, &st), "stat of the slave");
	CHECK(S_ISCHR(st.st_mode), "the slave is a character device");
	CHECK_EQ(major(st.st_rdev), 136 + n / 256, "the slave's major is 136 + N/256");
	CHECK_EQ(minor(st.st_rdev), n % 256, "the slave's minor is N%256");
	CHECK_EQ(st.st_mode & 07777, 0620, "the slave's mode is 0620");
	CHECK_EQ(st.st_uid, getuid(), "the slave belongs to the opener");
	CHECK_EQ(st.st_gid, 5, "the slave's group is tty");
	CHECK_OK(fstat(m, &mst), "fstat of the master");
	CHECK(S_ISCHR(mst.st_mode) && major(mst.st_rdev) == 5 && minor(mst.st_rdev) == 2, "the master is ptmx (5:2)");

	int s = CHECK_OK(open(name, O_RDWR | O_NOCTTY), "the unlocked slave opens");
	CHECK(isatty(s), "the slave is a tty");
	char tn[64] = "";
	CHECK_OK(ttyname_r(s, tn, sizeof tn), "ttyname of the slave");
	CHECK_STREQ(tn, name, "ttyname of the slave is its ptsname");
	CHECK_ERRNO(lseek(s, 0, SEEK_SET), ESPIPE, "lseek on the slave fails with ESPIPE");

	struct termios t;
	CHECK_OK(tcgetattr(s, &t), "tcgetattr of the slave");
	CHECK_EQ(t.c_iflag, ICRNL | IXON, "default c_iflag is ICRNL|IXON");
	CHECK_EQ(t.c_oflag, OPOST | ONLCR, "default c_oflag is OPOST|ONLCR");
	CHECK_EQ(t.c_lflag, ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE | IEXTEN, "default c_lflag");
	CHECK_EQ(t.c_cflag & (CSIZE | CREAD), CS8 | CREAD, "default c_cflag has CS8|CREAD");
	CHECK(t.c_cc[VINTR] == 3 && t.c_cc[VERASE] == 0177 && t.c_cc[VKILL] == 025 && t.c_cc[VEOF] == 4 &&
		      t.c_cc[VMIN] == 1 && t.c_cc[VTIME] == 0 && t.c_cc[VWERASE] == 027 && t.c_cc[VSUSP] == 032,
	      "default control characters");

	unsigned peer_n = 0;
	int p = CHECK_OK(ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY), "TIOCGPTPEER opens the slave");
	struct stat pst;
	CHECK(fstat(p, &pst) == 0 && pst.st_rdev == st.st_rdev && pst.st_ino == st.st_ino, "TIOCGPTPEER's fd is the slave");
	CHECK_ERRNO(ioctl(s, TIOCGPTN, &peer_n), ENOTTY, "TIOCGPTN on the slave fails with ENOTTY");
	close(p);
	close(s);
	close(m);
	CHECK_ERRNO(stat(name, &st), ENOENT, "the slave's entry goes with its pty");
}

static void check_discipline(int m, int s) {
	char buf[256];
	struct pollfd pf = {.fd = m, .events = POLLOUT};
	CHECK(poll(&pf, 1, 0) == 1 && (pf.revents & POLLOUT), "the master polls writable");

	put(m, "abc");
	CHECK(!readable(s, 200), "a partial line is not readable");
	CHECK_EQ(collect(m, buf, sizeof buf, 3), 3, "the partial line is echoed");
	CHECK_STREQ(buf, "abc", "the echo is the typed text");
	put(m, "\n");
	CHECK(readable(s, 2000), "the slave polls readable after the newline");
	ssize_t r = read(s, buf, sizeof buf - 1);
	buf[r < 0 ? 0 : r] = 0;
	CHECK_STREQ(buf, "abc\n", "the slave reads the line");
	collect(m, buf, sizeof buf, 2);
	CHECK_STREQ(buf, "\r\n", "the newline echoes as CR LF");

	CHECK_STREQ(line(m, s, "xy\177z\n"), "xz\n", "VERASE erases a character");
	CHECK_STREQ(line(m, s, "foo\025bar\n"), "bar\n", "VKILL erases the line");
	CHECK_STREQ(line(m, s, "one two\027three\n"), "one three\n", "VWERASE erases a word");
	CHECK_STREQ(line(m, s, "cr\r"), "cr\n", "ICRNL turns CR into NL");
	CHECK_STREQ(line(m, s, "ab\004"), "ab", "VEOF ends a line without itself");
	CHECK_STREQ(line(m, s, "\004"), "", "VEOF on an empty line reads end of file");

	put(m, "q\001\n");
	collect(m, buf, sizeof buf, 5);
	CHECK_STREQ(buf, "q^A\r\n", "ECHOCTL echoes control characters as ^X");
	drain(s);

	put(s, "l1\nl2\n");
	collect(m, buf, sizeof buf, 8);
	CHECK_STREQ(buf, "l1\r\nl2\r\n", "ONLCR turns the slave's NL into CR NL");

	put(s, "xyz");
	int n = -1;
	CHECK(readable(m, 2000), "the master polls readable");
	CHECK_OK(ioctl(m, FIONREAD, &n), "FIONREAD on the master");
	CHECK_EQ(n, 3, "FIONREAD on the master counts the slave's output");
	drain(m);

	struct winsize ws = {.ws_row = 33, .ws_col = 101}, got = {0};
	CHECK_OK(ioctl(m, TIOCSWINSZ, &ws), "TIOCSWINSZ on the master");
	CHECK_OK(ioctl(s, TIOCGWINSZ, &got), "TIOCGWINSZ on the slave");
	CHECK(got.ws_row == 33 && got.ws_col == 101, "the slave sees the master's window size");

	struct termios t, raw;
	tcgetattr(s, &t);
	raw = t;
	cfmakeraw(&raw);
	CHECK_OK(tcsetattr(s, TCSANOW, &raw), "cfmakeraw settings apply");
	put(m, "k");
	CHECK(readable(s, 2000), "in raw mode one byte is readable");
	r = read(s, buf, sizeof buf);
	CHECK(r == 1 && buf[0] == 'k', "raw mode reads byte by byte");
	CHECK(!readable(m, 200), "raw mode does not echo");
	put(m, "\r\003");
	collect(s, buf, sizeof buf, 2);
	CHECK(memcmp(buf, "\r\003", 2) == 0, "raw mode passes CR and ^C through");
	put(m, "12345");
	while (ioctl(s, FIONREAD, &n) == 0 && n < 5 && readable(s, 2000)) {
	}
	CHECK_EQ(n, 5, "FIONREAD on the slave counts queued input");
	drain(s);
	put(s, "a\nb");
	collect(m, buf, sizeof buf, 3);
	CHECK_STREQ(buf, "a\nb", "raw mode output is not processed");

	raw.c_cc[VMIN] = 0;
	raw.c_cc[VTIME] = 0;
	tcsetattr(s, TCSANOW, &raw);
	CHECK_EQ(read(s, buf, sizeof buf), 0, "VMIN 0 VTIME 0 returns at once");
	raw.c_cc[VTIME] = 1;
	tcsetattr(s, TCSANOW, &raw);
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	r = read(s, buf, sizeof buf);
	clock_gettime(CLOCK_MONOTONIC, &b);
	long ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
	CHECK(r == 0 && ms >= 80, "VMIN 0 VTIME 1 times out after 0.1 s");
	raw.c_cc[VMIN] = 1;
	raw.c_cc[VTIME] = 0;
	tcsetattr(s, TCSANOW, &raw);
	int fl = fcntl(s, F_GETFL);
	fcntl(s, F_SETFL, fl | O_NONBLOCK);
	CHECK_ERRNO(read(s, buf, sizeof buf), EAGAIN, "a non-blocking read of an empty slave fails with EAGAIN");
	fcntl(s, F_SETFL, fl);

	tcsetattr(s, TCSANOW, &t);
	put(m, "junk");
	drain(m);
	CHECK_OK(tcsetattr(s, TCSAFLUSH, &t), "TCSAFLUSH");
	CHECK_STREQ(line(m, s, "ok\n"), "ok\n", "TCSAFLUSH discards unread input");
}

/* check_signals: ^C on the master interrupts the foreground group of the
 * session the slave controls, and a master's hang-up sends SIGHUP. */
static void check_signals(void) {
	int s, m = openpt(&s);
	CHECK(m >= 0, "a pty for job control");
	pid_t pid = start_ctty_child(ptsname(m), 1, s, m);
	CHECK(pid > 0, "a child makes the slave its controlling terminal with TIOCSCTTY and opens /dev/tty");
	if (pid > 0) {
		CHECK_EQ(tcgetpgrp(m), pid, "tcgetpgrp on the master is the child's group");
		put(m, "partial\003");
		CHECK_EQ(exit_code(pid), 40 + SIGINT, "^C on the master sends SIGINT to the foreground group");
		CHECK(expect(m, "^C"), "^C is echoed");
	} else if (pid < 0) {
		CHECK_EQ(exit_code(-pid), 0, "the TIOCSCTTY child's status");
	}
	close(s);
	close(m);

	m = openpt(&s);
	char name[64];
	snprintf(name, sizeof name, "%s", ptsname(m));
	close(s);
	pid = start_ctty_child(name, 0, -1, m);
	CHECK(pid > 0, "a session leader's open of the slave makes it its controlling terminal");
	close(m);
	if (pid > 0)
		CHECK_EQ(exit_code(pid), 40 + SIGHUP, "closing the master sends SIGHUP to the session");
	else if (pid < 0)
		CHECK_EQ(exit_code(-pid), 0, "the open child's status");

	pid = fork();
	if (pid == 0) {
		setsid();
		_exit(open("/dev/tty", O_RDWR) < 0 && errno == ENXIO ? 0 : 1);
	}
	CHECK_EQ(exit_code(pid), 0, "/dev/tty without a controlling terminal fails with ENXIO");
}

/* check_hangup: the ends after the other one is closed. */
static void check_hangup(void) {
	char buf[64];
	int s, m = openpt(&s);
	put(s, "bye\n");
	close(s);
	collect(m, buf, sizeof buf, 5);
	CHECK_STREQ(buf, "bye\r\n", "the master reads what a closed slave wrote");
	CHECK_ERRNO(read(m, buf, sizeof buf), EIO, "then the master reads EIO");
	struct pollfd pf = {.fd = m, .events = POLLIN};
	CHECK(poll(&pf, 1, 0) == 1 && (pf.revents & POLLHUP), "the master polls POLLHUP");

	s = open(ptsname(m), O_RDWR | O_NOCTTY);
	CHECK(s >= 0, "the slave opens again");
	put(m, "lost\n");
	close(m);
	CHECK_EQ(read(s, buf, sizeof buf), 0, "the slave reads end of file after the hang-up");
	CHECK_ERRNO(write(s, "x", 1), EIO, "the slave's writes fail with EIO after the hang-up");
	pf.fd = s;
	CHECK(poll(&pf, 1, 0) == 1 && (pf.revents & POLLHUP), "the slave polls POLLHUP after the hang-up");
	close(s);
}

int main(void) {
	check_basics();
	int s, m = openpt(&s);
	CHECK(m >= 0, "openpt for the line discipline");
	if (m >= 0)
		check_discipline(m, s);
	close(s);
	close(m);
	check_signals();
	check_hangup();
	return check_done();
}
