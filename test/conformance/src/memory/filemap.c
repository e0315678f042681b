/* MAP_SHARED and MAP_PRIVATE mappings of a file of the container's root
 * filesystem (under Bulwark a gofer file seen through the overlay's lower
 * layer: it is only read here, so it is never copied up). Writable shared
 * mappings of gofer files are covered by the unit tests of pkg/fs/gofer, as
 * every writable path of this container is a tmpfs. */
#include "../check.h"
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#define PG 4096
#define FILE_PATH "/bin/busybox"

/* readall reads the whole of fd (size bytes) into a new buffer. */
static char *readall(int fd, size_t size) {
	char *buf = malloc(size);
	size_t done = 0;
	while (buf && done < size) {
		ssize_t n = pread(fd, buf + done, size - done, (off_t)done);
		if (n <= 0) {
			free(buf);
			return NULL;
		}
		done += (size_t)n;
	}
	return buf;
}

int main(void) {
	int fd = CHECK_OK(open(FILE_PATH, O_RDONLY), "open a file of the root read-only");
	struct stat st;
	CHECK_OK(fstat(fd, &st), "fstat it");
	size_t size = (size_t)st.st_size;
	CHECK(size > 2 * PG, "the file is more than two pages long");
	char *data = readall(fd, size);
	CHECK(data != NULL, "read(2) the whole file");
	if (data == NULL || size <= 2 * PG)
		return check_done();

	char *s = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	CHECK(s != MAP_FAILED, "mmap MAP_SHARED PROT_READ of a read-only file");
	if (s == MAP_FAILED)
		return check_done();
	CHECK(memcmp(s, data, size) == 0, "a shared mapping has the bytes read(2) returns");
	size_t tail = size % PG ? PG - size % PG : 0;
	int zero = 1;
	for (size_t i = 0; i < tail; i++)
		zero &= s[size + i] == 0;
	CHECK(zero, "bytes of the last page past the end of file read as zero");

	char *o = mmap(NULL, PG, PROT_READ, MAP_SHARED, fd, PG);
	CHECK(o != MAP_FAILED && memcmp(o, data + PG, PG) == 0, "a shared mapping at an offset has the bytes at that offset");
	char *s2 = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	CHECK(s2 != MAP_FAILED && s2 != s && memcmp(s2, s, size) == 0, "a second shared mapping has the same bytes");

	CHECK_ERRNO(mprotect(s, PG, PROT_READ | PROT_WRITE), EACCES,
		    "mprotect PROT_WRITE of a shared mapping of a read-only fd is EACCES");
	CHECK(mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) == MAP_FAILED && errno == EACCES,
	      "mmap MAP_SHARED PROT_WRITE of a read-only fd is EACCES");
	CHECK(mmap(NULL, PG, PROT_READ, MAP_SHARED, fd, 3) == MAP_FAILED && errno == EINVAL,
	      "mmap at an unaligned offset is EINVAL");

	char *p = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	CHECK(p != MAP_FAILED, "mmap MAP_PRIVATE PROT_WRITE of a read-only fd");
	if (p != MAP_FAILED) {
		memcpy(p + 10, "private", 7);
		CHECK(memcmp(p + 10, "private", 7) == 0, "a private mapping keeps its own store");
		CHECK(memcmp(s + 10, data + 10, 7) == 0, "a store to a private mapping does not reach a shared one");
		char buf[7];
		CHECK(pread(fd, buf, 7, 10) == 7 && memcmp(buf, data + 10, 7) == 0,
		      "a store to a private mapping does not reach the file");
		munmap(p, 2 * PG);
	}

	pid_t pid = fork();
	if (pid == 0)
		_exit(memcmp(s, data, size) == 0 ? 0 : 1);
	CHECK_EQ(exit_code(pid), 0, "a forked child sees the shared mapping");

	close(fd);
	CHECK(memcmp(s, data, size) == 0, "a shared mapping outlives the closed fd");
	CHECK_OK(munmap(s, size), "munmap the shared mapping");
	if (o != MAP_FAILED)
		munmap(o, PG);
	if (s2 != MAP_FAILED)
		munmap(s2, size);
	free(data);
	return check_done();
}
