/* The vDSO: present in the auxiliary vector and in /proc/self/maps, and its
 * clock_gettime, gettimeofday and time agree with each other and with the
 * system calls. */
#include "../check.h"
#include <elf.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>

static long long ns(struct timespec t) { return t.tv_sec * 1000000000LL + t.tv_nsec; }

/* sys_ns reads clock with the system call itself, bypassing the vDSO. */
static long long sys_ns(clockid_t clock) {
	struct timespec t;
	if (syscall(SYS_clock_gettime, clock, &t) != 0)
		return -1;
	return ns(t);
}

static long long vdso_ns(clockid_t clock) {
	struct timespec t;
	if (clock_gettime(clock, &t) != 0)
		return -1;
	return ns(t);
}

/* maps_has reports whether /proc/self/maps names the mapping name. */
static int maps_has(const char *name) {
	char buf[16384];
	int fd = open("/proc/self/maps", O_RDONLY);
	if (fd < 0)
		return 0;
	ssize_t n, total = 0;
	while (total < (ssize_t)sizeof buf - 1 && (n = read(fd, buf + total, sizeof buf - 1 - total)) > 0)
		total += n;
	close(fd);
	buf[total] = 0;
	return strstr(buf, name) != NULL;
}

/* max_gap returns how far the syscall's reading of clock falls outside the
 * vDSO readings around it (0 when in between), in ns. */
static long long max_gap(clockid_t clock) {
	long long worst = 0;
	for (int i = 0; i < 20; i++) {
		long long a = vdso_ns(clock), b = sys_ns(clock), c = vdso_ns(clock);
		long long gap = b < a ? a - b : b > c ? b - c : 0;
		if (gap > worst)
			worst = gap;
	}
	return worst;
}

int main(void) {
	unsigned long ehdr = getauxval(AT_SYSINFO_EHDR);
	CHECK(ehdr != 0, "AT_SYSINFO_EHDR is in the auxiliary vector");
	if (ehdr != 0)
		CHECK(memcmp((void *)ehdr, ELFMAG, SELFMAG) == 0, "AT_SYSINFO_EHDR points at an ELF header");
	CHECK(maps_has("[vdso]"), "/proc/self/maps shows [vdso]");

	struct timespec prev, cur;
	CHECK_OK(clock_gettime(CLOCK_MONOTONIC, &prev), "clock_gettime MONOTONIC");
	int backwards = 0;
	for (int i = 0; i < 1000000; i++) {
		clock_gettime(CLOCK_MONOTONIC, &cur);
		if (ns(cur) < ns(prev))
			backwards++;
		prev = cur;
	}
	CHECK_EQ(backwards, 0, "CLOCK_MONOTONIC never goes backwards over 1e6 calls");

	CHECK(max_gap(CLOCK_MONOTONIC) < 50000, "vDSO CLOCK_MONOTONIC agrees with the syscall within 50us");
	CHECK(max_gap(CLOCK_BOOTTIME) < 50000, "vDSO CLOCK_BOOTTIME agrees with the syscall within 50us");
	CHECK(max_gap(CLOCK_REALTIME) < 1000000, "vDSO CLOCK_REALTIME agrees with the syscall within 1ms");

	struct timespec rt;
	time_t t0 = time(NULL);
	CHECK_OK(clock_gettime(CLOCK_REALTIME, &rt), "clock_gettime REALTIME");
	time_t t1 = time(NULL);
	/* time() may read a coarse clock, a tick behind: allow a second. */
	CHECK(t0 - 1 <= rt.tv_sec && rt.tv_sec <= t1 + 1, "time() agrees with CLOCK_REALTIME seconds");

	struct timespec a, b;
	struct timeval tv;
	clock_gettime(CLOCK_REALTIME, &a);
	CHECK_OK(gettimeofday(&tv, NULL), "gettimeofday");
	clock_gettime(CLOCK_REALTIME, &b);
	long long tv_us = tv.tv_sec * 1000000LL + tv.tv_usec;
	CHECK(ns(a) / 1000 <= tv_us && tv_us <= ns(b) / 1000, "gettimeofday lies between two CLOCK_REALTIME readings");

	struct timezone tz = {1, 1};
	CHECK_OK(gettimeofday(&tv, &tz), "gettimeofday with a timezone");

	struct timespec res = {0, 0};
	CHECK_OK(clock_getres(CLOCK_MONOTONIC, &res), "clock_getres MONOTONIC");
	CHECK(res.tv_sec == 0 && res.tv_nsec > 0 && res.tv_nsec <= 10000000, "MONOTONIC resolution is at most 10ms");
	CHECK_ERRNO(clock_gettime((clockid_t)12345, &cur), EINVAL, "clock_gettime of an unknown clock");
	CHECK_OK(clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cur), "clock_gettime PROCESS_CPUTIME_ID");
	CHECK(sched_getcpu() >= 0, "sched_getcpu");
	return check_done();
}
