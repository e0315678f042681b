/*
 * check.h: the assertion macros of the Bulwark syscall conformance programs.
 *
 * Every assertion prints one TAP-like line on fd 1 (written with write(2), so
 * nothing is buffered across fork or lost in a crash):
 *
 *   ok N - description
 *   not ok N - description: details (file.c:line)
 *
 * and main ends with `return check_done();`, which prints the plan line
 * `1..N` and returns 0: a program that dies early has no plan line, which the
 * harness reports. Only the process that started the program may report;
 * children report to their parent through exit codes or pipes.
 *
 *   CHECK(cond, desc)               cond is true
 *   CHECK_EQ(got, want, desc)       two integers are equal (printed on failure)
 *   CHECK_STREQ(got, want, desc)    two C strings are equal
 *   CHECK_OK(call, desc)            call returns >= 0; evaluates to its result
 *   CHECK_ERRNO(call, err, desc)    call returns -1 with errno == err
 *
 * Descriptions must not contain ": " (the harness splits the details there).
 */
#ifndef BULWARK_CONFORMANCE_CHECK_H
#define BULWARK_CONFORMANCE_CHECK_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static int check_count;
static pid_t check_pid;

__attribute__((constructor)) static void check_init(void) { check_pid = getpid(); }

/* check_write writes all of buf to fd 1, retrying short writes and EINTR. */
static void check_write(const char *buf, size_t len) {
	while (len > 0) {
		ssize_t n = write(1, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		buf += n;
		len -= (size_t)n;
	}
}

__attribute__((format(printf, 1, 2))) static void check_printf(const char *fmt, ...) {
	char buf[2048];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof buf)
		n = sizeof buf - 1;
	check_write(buf, (size_t)n);
}

/* check_errname names an errno value ("ENOENT"), or its number. */
static const char *check_errname(int e) {
	static char buf[4][16];
	static int i;
	const char *s = e ? strerrorname_np(e) : "0";
	if (s)
		return s;
	i = (i + 1) % 4;
	snprintf(buf[i], sizeof buf[i], "%d", e);
	return buf[i];
}

/* check_report prints one result line; detail is used only on failure. */
static int check_report(int ok, const char *desc, const char *file, int line, const char *detail) {
	int saved = errno;
	if (getpid() != check_pid) {
		check_printf("# BUG: assertion '%s' reported from a child process (%s:%d)\n", desc, file, line);
		_exit(99);
	}
	++check_count;
	if (ok)
		check_printf("ok %d - %s\n", check_count, desc);
	else
		check_printf("not ok %d - %s: %s (%s:%d)\n", check_count, desc, detail, file, line);
	errno = saved;
	return ok;
}

/* check_done prints the plan line; main returns its result. */
static int check_done(void) {
	check_printf("1..%d\n", check_count);
	return 0;
}

#define CHECK(cond, desc) check_report(!!(cond), (desc), __FILE__, __LINE__, "false: " #cond)

#define CHECK_EQ(got, want, desc)                                                              \
	({                                                                                     \
		long long check_g_ = (long long)(got), check_w_ = (long long)(want);           \
		char check_d_[256];                                                            \
		snprintf(check_d_, sizeof check_d_, "got %lld (%#llx), want %lld (%#llx) from %s", \
			 check_g_, check_g_, check_w_, check_w_, #got);                        \
		check_report(check_g_ == check_w_, (desc), __FILE__, __LINE__, check_d_);      \
	})

#define CHECK_STREQ(got, want, desc)                                                           \
	({                                                                                     \
		const char *check_g_ = (got), *check_w_ = (want);                              \
		char check_d_[512];                                                            \
		snprintf(check_d_, sizeof check_d_, "got \"%.200s\", want \"%.200s\"",                 \
			 check_g_ ? check_g_ : "(null)", check_w_);                            \
		check_report(check_g_ && strcmp(check_g_, check_w_) == 0, (desc), __FILE__,     \
			     __LINE__, check_d_);                                              \
	})

#define CHECK_OK(call, desc)                                                                   \
	({                                                                                     \
		errno = 0;                                                                     \
		long check_r_ = (long)(call);                                                  \
		int check_e_ = errno;                                                          \
		char check_d_[256];                                                            \
		snprintf(check_d_, sizeof check_d_, "%s returned %ld, errno %s", #call,         \
			 check_r_, check_errname(check_e_));                                   \
		check_report(check_r_ >= 0, (desc), __FILE__, __LINE__, check_d_);             \
		check_r_;                                                                      \
	})

#define CHECK_ERRNO(call, err, desc)                                                           \
	({                                                                                     \
		errno = 0;                                                                     \
		long check_r_ = (long)(call);                                                  \
		int check_e_ = errno;                                                          \
		char check_d_[256];                                                            \
		snprintf(check_d_, sizeof check_d_, "%s returned %ld errno %s, want -1 errno %s", \
			 #call, check_r_, check_errname(check_r_ == -1 ? check_e_ : 0),         \
			 check_errname(err));                                                  \
		check_report(check_r_ == -1 && check_e_ == (err), (desc), __FILE__, __LINE__,  \
			     check_d_);                                                        \
	})

/* wait_status waits for pid (retrying EINTR) and returns its raw wait
 * status, or -1 when waitpid fails. */
__attribute__((unused)) static int wait_status(pid_t pid) {
	int status;
	pid_t r;
	do
		r = waitpid(pid, &status, 0);
	while (r < 0 && errno == EINTR);
	return r == pid ? status : -1;
}

/* exit_code waits for pid and returns its exit code, or 1000+signal when
 * it was killed, or -1 when waiting failed. */
__attribute__((unused)) static int exit_code(pid_t pid) {
	int s = wait_status(pid);
	if (s == -1)
		return -1;
	if (WIFEXITED(s))
		return WEXITSTATUS(s);
	if (WIFSIGNALED(s))
		return 1000 + WTERMSIG(s);
	return -2;
}

#endif
