/* madvise(MADV_DONTNEED): a MAP_PRIVATE mapping of a file drops the
 * process's changes and reads the file's current bytes again, for a file in
 * /tmp (a tmpfs) and for one of the root filesystem (under Bulwark a gofer
 * file seen through the overlay's lower layer); an anonymous private mapping
 * reads zeros again; a shared mapping keeps its contents. */
#include "../check.h"
#include <fcntl.h>
#include <sys/mman.h>

#define PG 4096
#define TMP_PATH "/tmp/dontneed"
#define ROOT_PATH "/bin/busybox"
#define TAIL 100 /* bytes of the file in its last page */

/* all reports whether n bytes at p are all c. */
static int all(const char *p, char c, size_t n) {
	for (size_t i = 0; i < n; i++)
		if (p[i] != c)
			return 0;
	return 1;
}

/* writeall writes n bytes of buf at off. */
static int writeall(int fd, const char *buf, size_t n, off_t off) {
	while (n > 0) {
		ssize_t w = pwrite(fd, buf, n, off);
		if (w <= 0)
			return -1;
		buf += w;
		n -= (size_t)w;
		off += w;
	}
	return 0;
}

/* tmpfs_private: the file has pages 'a', 'b' and TAIL bytes 'c'. */
static void tmpfs_private(int fd) {
	char *p = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	CHECK(p != MAP_FAILED, "mmap MAP_PRIVATE of a tmpfs file");
	if (p == MAP_FAILED)
		return;
	memset(p, 'x', PG);
	memset(p + PG, 'y', PG);
	memset(p + 2 * PG, 'z', PG);
	CHECK_OK(madvise(p + PG, PG, MADV_DONTNEED), "MADV_DONTNEED of one written page");
	CHECK(all(p + PG, 'b', PG), "the page reads the file's bytes again");
	CHECK(all(p, 'x', PG) && all(p + 2 * PG, 'z', PG), "the written pages around it keep their stores");

	CHECK_OK(madvise(p, 3 * PG, MADV_DONTNEED), "MADV_DONTNEED of the whole mapping");
	CHECK(all(p, 'a', PG) && all(p + PG, 'b', PG) && all(p + 2 * PG, 'c', TAIL),
	      "the whole mapping reads the file again");
	CHECK(all(p + 2 * PG + TAIL, 0, PG - TAIL), "bytes past the end of file read as zero again");

	memset(p + PG, 'y', PG);
	char buf[PG];
	memset(buf, 'B', PG);
	CHECK_OK(writeall(fd, buf, PG, PG), "write(2) new bytes to the file");
	CHECK(all(p + PG, 'y', PG), "a written private page does not see write(2)");
	CHECK_OK(madvise(p + PG, PG, MADV_DONTNEED), "MADV_DONTNEED after the file changed");
	CHECK(all(p + PG, 'B', PG), "the page reads the file's new bytes");
	CHECK(pread(fd, buf, PG, 0) == PG && all(buf, 'a', PG), "stores to the private mapping never reached the file");

	/* A child drops its own changes only. */
	memset(p, 'x', PG);
	pid_t pid = fork();
	if (pid == 0) {
		if (madvise(p, PG, MADV_DONTNEED) != 0)
			_exit(1);
		_exit(all(p, 'a', PG) ? 0 : 2);
	}
	CHECK_EQ(exit_code(pid), 0, "MADV_DONTNEED in a forked child reads the file");
	CHECK(all(p, 'x', PG), "the parent keeps its private page");
	munmap(p, 3 * PG);
}

/* tmpfs_shared: a shared mapping keeps its contents. */
static void tmpfs_shared(int fd) {
	char *s = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(s != MAP_FAILED, "mmap MAP_SHARED of a tmpfs file");
	if (s == MAP_FAILED)
		return;
	memset(s, 's', PG);
	CHECK_OK(madvise(s, PG, MADV_DONTNEED), "MADV_DONTNEED of a shared file mapping");
	CHECK(all(s, 's', PG), "a shared file mapping keeps its contents");
	char buf[PG];
	CHECK(pread(fd, buf, PG, 0) == PG && all(buf, 's', PG), "the file has the shared mapping's stores");
	munmap(s, PG);
}

/* root_private: a private mapping of a read-only file of the root. */
static void root_private(void) {
	int fd = CHECK_OK(open(ROOT_PATH, O_RDONLY), "open a file of the root read-only");
	if (fd < 0)
		return;
	char *data = malloc(3 * PG);
	CHECK(data != NULL && pread(fd, data, 3 * PG, 0) == 3 * PG, "read(2) its first three pages");
	char *p = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	CHECK(p != MAP_FAILED, "mmap MAP_PRIVATE PROT_WRITE of a read-only root file");
	if (data == NULL || p == MAP_FAILED) {
		close(fd);
		free(data);
		return;
	}
	memset(p, 'x', 2 * PG);
	CHECK_OK(madvise(p + PG, PG, MADV_DONTNEED), "MADV_DONTNEED of a written page of the root file");
	CHECK(memcmp(p + PG, data + PG, PG) == 0, "the page reads the root file's bytes again");
	CHECK(all(p, 'x', PG), "the written page before it keeps its stores");
	CHECK(memcmp(p + 2 * PG, data + 2 * PG, PG) == 0, "the untouched page after it is unchanged");

	close(fd);
	memset(p, 'x', 3 * PG);
	CHECK_OK(madvise(p, 3 * PG, MADV_DONTNEED), "MADV_DONTNEED after the fd is closed");
	CHECK(memcmp(p, data, 3 * PG) == 0, "the mapping reads the file again after its fd is closed");
	munmap(p, 3 * PG);
	free(data);
}

/* anonymous_private: zero-fill on demand again. */
static void anonymous_private(void) {
	char *a = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(a != MAP_FAILED, "mmap anonymous private memory");
	if (a == MAP_FAILED)
		return;
	memset(a, 'x', 2 * PG);
	CHECK_OK(madvise(a, PG, MADV_DONTNEED), "MADV_DONTNEED of anonymous private memory");
	CHECK(all(a, 0, PG), "anonymous private memory reads zeros again");
	CHECK(all(a + PG, 'x', PG), "the page after it keeps its stores");
	munmap(a, 2 * PG);
}

int main(void) {
	int fd = CHECK_OK(open(TMP_PATH, O_RDWR | O_CREAT | O_TRUNC, 0600), "create a file in /tmp");
	if (fd >= 0) {
		char buf[2 * PG + TAIL];
		memset(buf, 'a', PG);
		memset(buf + PG, 'b', PG);
		memset(buf + 2 * PG, 'c', TAIL);
		CHECK_OK(writeall(fd, buf, sizeof buf, 0), "write two pages and a bit to it");
		tmpfs_private(fd);
		tmpfs_shared(fd);
		close(fd);
		unlink(TMP_PATH);
	}
	root_private();
	anonymous_private();
	return check_done();
}
