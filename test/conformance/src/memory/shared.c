/* MAP_SHARED mappings of tmpfs and memfd files, memfd_create, mremap,
 * madvise(MADV_DONTNEED), mincore, msync, mlock and RLIMIT_AS. */
#include "../check.h"
#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#define PG 4096

static void shared_file(int fd, const char *what) {
	char desc[128];
	CHECK_OK(ftruncate(fd, 2 * PG), "ftruncate the file to two pages");
	CHECK_EQ(pwrite(fd, "written", 7, 0), 7, "pwrite before mmap");
	char *p = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	snprintf(desc, sizeof desc, "mmap MAP_SHARED of a %s file", what);
	CHECK(p != MAP_FAILED, desc);
	if (p == MAP_FAILED)
		return;
	snprintf(desc, sizeof desc, "%s mapping sees data written before", what);
	CHECK(memcmp(p, "written", 7) == 0, desc);
	memcpy(p + PG, "stored", 6);
	char buf[8] = {0};
	snprintf(desc, sizeof desc, "pread sees a store through the %s mapping", what);
	CHECK(pread(fd, buf, 6, PG) == 6 && memcmp(buf, "stored", 6) == 0, desc);
	CHECK_EQ(pwrite(fd, "again", 5, 100), 5, "pwrite after mmap");
	snprintf(desc, sizeof desc, "%s mapping sees a later pwrite", what);
	CHECK(memcmp(p + 100, "again", 5) == 0, desc);
	pid_t pid = fork();
	if (pid == 0) {
		memcpy(p + 200, "child", 5);
		_exit(0);
	}
	CHECK_EQ(exit_code(pid), 0, "child exits");
	snprintf(desc, sizeof desc, "a child's store in a shared %s mapping is seen by the parent", what);
	CHECK(memcmp(p + 200, "child", 5) == 0, desc);
	CHECK_OK(msync(p, 2 * PG, MS_SYNC), "msync MS_SYNC succeeds");
	CHECK_ERRNO(msync(p, PG, MS_SYNC | MS_ASYNC), EINVAL, "msync with MS_SYNC|MS_ASYNC is EINVAL");
	struct stat st;
	fstat(fd, &st);
	CHECK_EQ(st.st_size, 2 * PG, "stores through the mapping do not change the size");
	munmap(p, 2 * PG);
}

int main(void) {
	/* memfd_create. */
	int mfd = CHECK_OK(syscall(SYS_memfd_create, "bulwark-test", MFD_CLOEXEC | MFD_ALLOW_SEALING), "memfd_create");
	char link[64], target[256] = {0};
	snprintf(link, sizeof link, "/proc/self/fd/%d", mfd);
	CHECK_OK(readlink(link, target, sizeof target - 1), "readlink of the memfd's /proc/self/fd link");
	CHECK_STREQ(target, "/memfd:bulwark-test (deleted)", "the memfd is named memfd:<name>");
	CHECK_EQ(fcntl(mfd, F_GETFD), FD_CLOEXEC, "MFD_CLOEXEC sets close-on-exec");
	CHECK_ERRNO(syscall(SYS_memfd_create, "x", 0x100), EINVAL, "memfd_create with unknown flags is EINVAL");
	struct stat st;
	fstat(mfd, &st);
	CHECK(S_ISREG(st.st_mode), "a memfd is a regular file");
	shared_file(mfd, "memfd");
	close(mfd);

	/* A file in /tmp (a tmpfs). */
	int fd = CHECK_OK(open("/tmp/shared-mapping", O_RDWR | O_CREAT | O_TRUNC, 0600), "create a file in /tmp");
	shared_file(fd, "tmpfs");
	close(fd);
	unlink("/tmp/shared-mapping");

	/* mremap. */
	char *a = mmap(NULL, 8 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memcpy(a, "moving", 6);
	munmap(a + 2 * PG, 6 * PG); /* free pages above a two-page mapping */
	char *g = mremap(a, 2 * PG, 3 * PG, 0);
	CHECK(g == a, "mremap grows in place when the pages above are free");
	char *blocker = mmap(a + 3 * PG, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	CHECK(blocker == a + 3 * PG, "map a page above the mapping");
	CHECK(mremap(a, 3 * PG, 6 * PG, 0) == MAP_FAILED && errno == ENOMEM,
	      "mremap without MREMAP_MAYMOVE fails with ENOMEM when it cannot grow in place");
	char *b = mremap(a, 3 * PG, 6 * PG, MREMAP_MAYMOVE);
	CHECK(b != MAP_FAILED && b != a, "mremap MREMAP_MAYMOVE moves the mapping");
	CHECK(memcmp(b, "moving", 6) == 0, "moved memory keeps its contents");
	b[6 * PG - 1] = 1;
	CHECK(mremap(b, 6 * PG, PG, 0) == b, "mremap shrinks in place");
	CHECK(mremap((void *)0x10000, PG, 2 * PG, MREMAP_MAYMOVE) == MAP_FAILED && errno == EFAULT,
	      "mremap of unmapped memory is EFAULT");
	munmap(b, PG);
	munmap(blocker, PG);

	/* madvise, mincore, mlock. */
	char *z = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(z, 7, 4 * PG);
	CHECK_OK(madvise(z + PG, 2 * PG, MADV_DONTNEED), "madvise MADV_DONTNEED");
	CHECK(z[0] == 7 && z[PG] == 0 && z[3 * PG - 1] == 0 && z[3 * PG] == 7,
	      "MADV_DONTNEED zeroes private anonymous pages and only those");
	CHECK_OK(madvise(z, 4 * PG, MADV_WILLNEED), "madvise MADV_WILLNEED");
	CHECK_OK(madvise(z, 4 * PG, MADV_FREE), "madvise MADV_FREE");
	CHECK_ERRNO(madvise(z + 1, PG, MADV_DONTNEED), EINVAL, "madvise of an unaligned address is EINVAL");
	unsigned char vec[4];
	CHECK_OK(mincore(z, 4 * PG, vec), "mincore of mapped memory");
	CHECK_ERRNO(mincore((void *)0x10000, PG, vec), ENOMEM, "mincore of unmapped memory is ENOMEM");
	CHECK_OK(mlock(z, PG), "mlock");
	CHECK_OK(munlock(z, PG), "munlock");
	munmap(z, 4 * PG);

	/* RLIMIT_AS, in a child. */
	pid_t pid = fork();
	if (pid == 0) {
		struct rlimit rl = {64 << 20, 64 << 20};
		if (setrlimit(RLIMIT_AS, &rl) != 0)
			_exit(2);
		void *big = mmap(NULL, 128 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (big != MAP_FAILED || errno != ENOMEM)
			_exit(3);
		void *small = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		_exit(small == MAP_FAILED ? 4 : 0);
	}
	CHECK_EQ(exit_code(pid), 0, "RLIMIT_AS makes a large mmap fail with ENOMEM");
	return check_done();
}
