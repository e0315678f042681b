/* mmap, munmap, mprotect, brk, MAP_FIXED, file-backed MAP_PRIVATE, and the
 * SIGSEGV a bad access raises (caught with a handler and siglongjmp). */
#include "../check.h"
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>

static sigjmp_buf jump;
static volatile int fault_signo, fault_code;
static void *volatile fault_addr;

static void on_segv(int sig, siginfo_t *si, void *ctx) {
	(void)ctx;
	fault_signo = sig;
	fault_code = si->si_code;
	fault_addr = si->si_addr;
	siglongjmp(jump, 1);
}

/* faults reports whether touching p (reading, or writing when write is set)
 * raises a signal; the handler records which. */
static int faults(volatile char *p, int write) {
	fault_signo = 0;
	fault_addr = NULL;
	if (sigsetjmp(jump, 1))
		return 1;
	if (write)
		*p = 1;
	else
		(void)*p;
	return 0;
}

static int all_zero(const char *p, size_t n) {
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

int main(void) {
	long page = sysconf(_SC_PAGESIZE);
	CHECK_EQ(page, 4096, "the page size is 4096");
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_segv;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);

	char *m = mmap(NULL, 4 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(m != MAP_FAILED, "mmap of anonymous read-write memory succeeds");
	CHECK(((uintptr_t)m & (page - 1)) == 0, "mmap returns a page-aligned address");
	CHECK(all_zero(m, 4 * page), "anonymous memory is zero-filled");
	memset(m, 0x5a, 4 * page);
	CHECK(m[0] == 0x5a && m[4 * page - 1] == 0x5a, "anonymous memory keeps what is written");

	CHECK_OK(munmap(m + page, page), "munmap of one page in the middle of a mapping");
	CHECK(faults(m + page, 0), "reading an unmapped page faults");
	CHECK_EQ(fault_signo, SIGSEGV, "the fault on an unmapped page is SIGSEGV");
	CHECK_EQ(fault_code, SEGV_MAPERR, "si_code is SEGV_MAPERR for an unmapped page");
	CHECK(fault_addr == m + page, "si_addr is the faulting address");
	CHECK(!faults(m, 1) && !faults(m + 2 * page, 1), "the pages around the hole stay mapped");
	CHECK(faults(m + page, 0), "a second fault after siglongjmp out of the handler is caught too");

	CHECK_OK(mprotect(m, page, PROT_READ), "mprotect PROT_READ");
	CHECK(!faults(m, 0), "reading a read-only page works");
	CHECK_EQ(m[1], 0x5a, "mprotect keeps the content");
	CHECK(faults(m, 1), "writing a read-only page faults");
	CHECK_EQ(fault_signo, SIGSEGV, "the write to a read-only page raises SIGSEGV");
	CHECK_EQ(fault_code, SEGV_ACCERR, "si_code is SEGV_ACCERR for a protection fault");
	CHECK_OK(mprotect(m, page, PROT_NONE), "mprotect PROT_NONE");
	CHECK(faults(m, 0), "reading a PROT_NONE page faults");
	CHECK_OK(mprotect(m, page, PROT_READ | PROT_WRITE), "mprotect back to read-write");
	CHECK(!faults(m, 1), "writing works again after mprotect read-write");
	CHECK_ERRNO(mprotect(m + 1, page, PROT_READ), EINVAL, "mprotect of an unaligned address fails EINVAL");
	CHECK_ERRNO(munmap(m + 1, page), EINVAL, "munmap of an unaligned address fails EINVAL");

	char *fixed = mmap(m + 2 * page, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	CHECK(fixed == m + 2 * page, "MAP_FIXED maps at exactly the given address");
	CHECK(all_zero(fixed, page), "MAP_FIXED replaces the old mapping with fresh zero pages");
	CHECK_EQ(m[3 * page], 0x5a, "MAP_FIXED leaves the neighbouring page alone");
	munmap(m, 4 * page);
	CHECK(faults(m + 3 * page, 0), "munmap of the whole range unmaps every page");

	errno = 0;
	void *z = mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(z == MAP_FAILED && errno == EINVAL, "mmap of length 0 fails EINVAL");

	/* brk */
	char *cur = (char *)syscall(SYS_brk, 0);
	CHECK(cur != NULL && cur != (char *)-1, "brk(0) returns the current break");
	char *grown = (char *)syscall(SYS_brk, cur + 16 * page);
	CHECK(grown == cur + 16 * page, "brk grows the break by 16 pages");
	CHECK(all_zero(cur, 16 * page), "memory from a grown break is zero");
	memset(cur, 7, 16 * page);
	CHECK(!faults(cur + 16 * page - 1, 1), "the last byte below the new break is writable");
	char *shrunk = (char *)syscall(SYS_brk, cur + 4 * page);
	CHECK(shrunk == cur + 4 * page, "brk shrinks the break");
	CHECK(faults(cur + 8 * page, 0), "memory above a shrunk break is unmapped");

	/* file-backed private mappings */
	char path[] = "/tmp/conf-mm-XXXXXX";
	int fd = mkstemp(path);
	char *content = malloc(2 * page);
	for (long i = 0; i < 2 * page; i++)
		content[i] = (char)('a' + i % 26);
	write(fd, content, 2 * page);
	char *f = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	CHECK(f != MAP_FAILED, "mmap MAP_PRIVATE of a file");
	CHECK(memcmp(f, content, 2 * page) == 0, "a private file mapping shows the file's content");
	f[0] = 'Z';
	char first = 0;
	pread(fd, &first, 1, 0);
	CHECK_EQ(first, 'a', "writes to a MAP_PRIVATE mapping do not reach the file");
	CHECK_EQ(f[0], 'Z', "the private mapping keeps its own write");
	munmap(f, 2 * page);
	f = mmap(NULL, page, PROT_READ, MAP_PRIVATE, fd, page);
	CHECK(f != MAP_FAILED && memcmp(f, content + page, page) == 0, "a file mapping at offset one page shows the second page");
	munmap(f, page);
	errno = 0;
	f = mmap(NULL, page, PROT_READ, MAP_PRIVATE, fd, 100);
	CHECK(f == MAP_FAILED && errno == EINVAL, "mmap at an unaligned file offset fails EINVAL");
	errno = 0;
	f = mmap(NULL, page, PROT_READ, MAP_PRIVATE, 999, 0);
	CHECK(f == MAP_FAILED && errno == EBADF, "mmap of a bad fd fails EBADF");
	int wo = open(path, O_WRONLY);
	errno = 0;
	f = mmap(NULL, page, PROT_READ, MAP_PRIVATE, wo, 0);
	CHECK(f == MAP_FAILED && errno == EACCES, "mmap of a write-only fd fails EACCES");
	close(wo);
	close(fd);
	unlink(path);

	/* copy-on-write across fork */
	char *cow = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	strcpy(cow, "parent");
	pid_t pid = fork();
	if (pid == 0) {
		int ok = strcmp(cow, "parent") == 0;
		strcpy(cow, "child");
		_exit(ok ? 0 : 1);
	}
	CHECK_EQ(exit_code(pid), 0, "a forked child sees the parent's anonymous memory");
	CHECK_STREQ(cow, "parent", "the child's write after fork does not reach the parent");
	return check_done();
}
