/* uname, clocks and nanosleep, getrandom, the /dev/null|zero|urandom devices,
 * /proc/self/exe and /proc/self/cmdline, and the credentials of the init. */
#include "../check.h"
#include <fcntl.h>
#include <limits.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <time.h>

static long long ns(struct timespec t) { return t.tv_sec * 1000000000LL + t.tv_nsec; }

static int all_zero(const unsigned char *p, size_t n) {
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

/* cmdline_helper compares /proc/self/cmdline with its own argv. */
static int cmdline_helper(int argc, char **argv) {
	char want[512], got[512];
	size_t n = 0;
	for (int i = 0; i < argc; i++) {
		size_t l = strlen(argv[i]) + 1;
		memcpy(want + n, argv[i], l);
		n += l;
	}
	int fd = open("/proc/self/cmdline", O_RDONLY);
	if (fd < 0)
		return 2;
	ssize_t r = read(fd, got, sizeof got);
	close(fd);
	if (r != (ssize_t)n)
		return 3;
	return memcmp(got, want, n) == 0 ? 0 : 4;
}

static void check_dev(const char *path, unsigned maj, unsigned min, const char *desc) {
	struct stat st;
	int ok = stat(path, &st) == 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) == maj && minor(st.st_rdev) == min;
	CHECK(ok, desc);
}

int main(int argc, char **argv) {
	if (argc > 1 && strcmp(argv[1], "cmdline") == 0)
		return cmdline_helper(argc, argv);

	struct utsname u;
	memset(&u, 0, sizeof u);
	CHECK_OK(uname(&u), "uname succeeds");
	CHECK_STREQ(u.sysname, "Linux", "uname sysname is Linux");
	CHECK_STREQ(u.machine, "x86_64", "uname machine is x86_64");
	CHECK(u.release[0] != 0, "uname release is non-empty");
	CHECK(u.version[0] != 0, "uname version is non-empty");
	CHECK(u.nodename[0] != 0, "uname nodename is non-empty");

	struct timespec a, b, res;
	CHECK_OK(clock_gettime(CLOCK_MONOTONIC, &a), "clock_gettime CLOCK_MONOTONIC");
	CHECK_OK(clock_gettime(CLOCK_MONOTONIC, &b), "clock_gettime CLOCK_MONOTONIC again");
	CHECK(ns(b) >= ns(a), "CLOCK_MONOTONIC does not go backwards");
	CHECK(a.tv_nsec >= 0 && a.tv_nsec < 1000000000L, "tv_nsec is normalized");
	struct timespec d = {0, 50 * 1000000L};
	CHECK_OK(nanosleep(&d, NULL), "nanosleep 50ms");
	clock_gettime(CLOCK_MONOTONIC, &b);
	CHECK(ns(b) - ns(a) >= 50000000LL, "nanosleep 50ms lasts at least 50ms of CLOCK_MONOTONIC");
	CHECK(ns(b) - ns(a) < 5000000000LL, "nanosleep 50ms lasts less than 5s");
	struct timespec bad = {0, 1000000000L};
	CHECK_ERRNO(nanosleep(&bad, NULL), EINVAL, "nanosleep with tv_nsec of 1e9 fails EINVAL");
	CHECK_OK(clock_getres(CLOCK_MONOTONIC, &res), "clock_getres CLOCK_MONOTONIC");
	CHECK(res.tv_sec == 0 && res.tv_nsec > 0 && res.tv_nsec <= 1000000, "CLOCK_MONOTONIC resolution is at most 1ms");
	CHECK_OK(clock_gettime(CLOCK_REALTIME, &a), "clock_gettime CLOCK_REALTIME");
	CHECK(a.tv_sec > 1577836800, "CLOCK_REALTIME is after 2020");
	struct timeval tv;
	CHECK_OK(gettimeofday(&tv, NULL), "gettimeofday");
	CHECK(tv.tv_sec - a.tv_sec >= 0 && tv.tv_sec - a.tv_sec < 5, "gettimeofday agrees with CLOCK_REALTIME");
	CHECK(llabs((long long)time(NULL) - a.tv_sec) < 5, "time agrees with CLOCK_REALTIME");
	CHECK_ERRNO(clock_gettime((clockid_t)1234, &a), EINVAL, "clock_gettime of an unknown clock fails EINVAL");

	unsigned char r1[64], r2[64];
	memset(r1, 0, sizeof r1);
	memset(r2, 0, sizeof r2);
	CHECK_EQ(getrandom(r1, sizeof r1, 0), 64, "getrandom fills 64 bytes");
	CHECK_EQ(getrandom(r2, sizeof r2, GRND_NONBLOCK), 64, "getrandom GRND_NONBLOCK fills 64 bytes");
	CHECK(!all_zero(r1, sizeof r1) && memcmp(r1, r2, sizeof r1) != 0, "getrandom bytes are not zero and differ between calls");
	CHECK_ERRNO(getrandom(r1, sizeof r1, 0x100), EINVAL, "getrandom with unknown flags fails EINVAL");

	unsigned char buf[4096];
	int fd = CHECK_OK(open("/dev/null", O_RDWR), "open /dev/null");
	CHECK_EQ(read(fd, buf, sizeof buf), 0, "read from /dev/null returns EOF");
	CHECK_EQ(write(fd, buf, sizeof buf), (long)sizeof buf, "write to /dev/null accepts everything");
	close(fd);
	fd = CHECK_OK(open("/dev/zero", O_RDWR), "open /dev/zero");
	memset(buf, 0xff, sizeof buf);
	CHECK_EQ(read(fd, buf, sizeof buf), (long)sizeof buf, "read from /dev/zero fills the buffer");
	CHECK(all_zero(buf, sizeof buf), "/dev/zero reads zeros");
	CHECK_EQ(write(fd, buf, 100), 100, "write to /dev/zero is accepted");
	close(fd);
	fd = CHECK_OK(open("/dev/urandom", O_RDONLY), "open /dev/urandom");
	memset(buf, 0, 32);
	CHECK_EQ(read(fd, buf, 32), 32, "read 32 bytes from /dev/urandom");
	CHECK(!all_zero(buf, 32), "/dev/urandom bytes are not all zero");
	close(fd);
	check_dev("/dev/null", 1, 3, "/dev/null is character device 1,3");
	check_dev("/dev/zero", 1, 5, "/dev/zero is character device 1,5");
	check_dev("/dev/urandom", 1, 9, "/dev/urandom is character device 1,9");

	char link[PATH_MAX];
	memset(link, 0, sizeof link);
	CHECK(readlink("/proc/self/exe", link, sizeof link - 1) > 0, "readlink /proc/self/exe succeeds");
	CHECK_STREQ(link, argv[0], "/proc/self/exe names the running program");
	memset(link, 0, sizeof link);
	char pid[16];
	snprintf(pid, sizeof pid, "%d", getpid());
	CHECK(readlink("/proc/self", link, sizeof link - 1) > 0, "readlink /proc/self succeeds");
	CHECK_STREQ(link, pid, "/proc/self links to the caller's pid");
	char want[512];
	fd = open("/proc/self/cmdline", O_RDONLY);
	memset(buf, 0, sizeof buf);
	long n = read(fd, buf, sizeof buf);
	close(fd);
	size_t wn = strlen(argv[0]) + 1;
	memcpy(want, argv[0], wn);
	CHECK(n == (long)wn && memcmp(buf, want, wn) == 0, "/proc/self/cmdline is argv NUL-separated");
	pid_t child = fork();
	if (child == 0) {
		char *args[] = {argv[0], "cmdline", "two words", "", "last", NULL};
		char *env[] = {NULL};
		execve(argv[0], args, env);
		_exit(99);
	}
	CHECK_EQ(exit_code(child), 0, "/proc/self/cmdline of an exec'd child matches its argv, empty strings included");

	CHECK_EQ(getuid(), 0, "the container process runs as uid 0");
	CHECK_EQ(getgid(), 0, "the container process runs as gid 0");
	CHECK_EQ(geteuid(), 0, "the effective uid is 0");
	return check_done();
}
