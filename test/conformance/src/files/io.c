/* read, write, pread, pwrite, readv, writev, lseek (holes, SEEK_END) and ftruncate. */
#include "../check.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>

static int all_zero(const char *p, size_t n) {
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

int main(void) {
	char path[] = "/tmp/conf-io-XXXXXX";
	int fd = CHECK_OK(mkstemp(path), "mkstemp creates a scratch file in /tmp");
	char buf[64];

	CHECK_EQ(write(fd, "0123456789", 10), 10, "write returns the byte count");
	CHECK_EQ(lseek(fd, 0, SEEK_CUR), 10, "write advances the file offset");
	CHECK_EQ(lseek(fd, 0, SEEK_SET), 0, "lseek SEEK_SET 0 returns 0");
	memset(buf, 0, sizeof buf);
	CHECK_EQ(read(fd, buf, 4), 4, "read of 4 bytes returns 4");
	CHECK(memcmp(buf, "0123", 4) == 0, "read returns the bytes written");
	CHECK_EQ(read(fd, buf, 0), 0, "read of 0 bytes returns 0");
	CHECK_EQ(read(fd, buf, sizeof buf), 6, "read returns only the bytes left before EOF");
	CHECK_EQ(read(fd, buf, sizeof buf), 0, "read at EOF returns 0");

	CHECK_EQ(lseek(fd, 2, SEEK_SET), 2, "lseek to offset 2");
	memset(buf, 0, sizeof buf);
	CHECK_EQ(pread(fd, buf, 3, 5), 3, "pread of 3 bytes at offset 5");
	CHECK(memcmp(buf, "567", 3) == 0, "pread reads at the given offset");
	CHECK_EQ(lseek(fd, 0, SEEK_CUR), 2, "pread leaves the file offset alone");
	CHECK_EQ(pwrite(fd, "AB", 2, 8), 2, "pwrite of 2 bytes at offset 8");
	CHECK_EQ(lseek(fd, 0, SEEK_CUR), 2, "pwrite leaves the file offset alone");
	CHECK_EQ(pread(fd, buf, 10, 0), 10, "pread the whole file");
	CHECK(memcmp(buf, "01234567AB", 10) == 0, "pwrite replaced the bytes at its offset");
	CHECK_EQ(pread(fd, buf, 4, 100), 0, "pread beyond EOF returns 0");
	CHECK_ERRNO(pread(fd, buf, 4, -1), EINVAL, "pread at a negative offset fails EINVAL");

	CHECK_EQ(lseek(fd, 0, SEEK_END), 10, "lseek SEEK_END 0 returns the file size");
	CHECK_EQ(lseek(fd, -3, SEEK_END), 7, "lseek SEEK_END -3 is size minus 3");
	CHECK_EQ(lseek(fd, 2, SEEK_CUR), 9, "lseek SEEK_CUR adds to the offset");
	CHECK_ERRNO(lseek(fd, -20, SEEK_CUR), EINVAL, "lseek to a negative offset fails EINVAL");
	CHECK_ERRNO(lseek(fd, 0, 42), EINVAL, "lseek with an unknown whence fails EINVAL");
	CHECK_EQ(lseek(fd, 0, SEEK_CUR), 9, "a failed lseek leaves the offset alone");

	CHECK_EQ(lseek(fd, 8192, SEEK_SET), 8192, "lseek past EOF succeeds");
	struct stat st;
	fstat(fd, &st);
	CHECK_EQ(st.st_size, 10, "lseek past EOF does not change the size");
	CHECK_EQ(write(fd, "Z", 1), 1, "write past EOF");
	fstat(fd, &st);
	CHECK_EQ(st.st_size, 8193, "write past EOF extends the file to offset+length");
	char hole[8182];
	memset(hole, 'x', sizeof hole);
	CHECK_EQ(pread(fd, hole, sizeof hole, 10), (long)sizeof hole, "pread across the hole returns every byte");
	CHECK(all_zero(hole, sizeof hole), "the hole reads as zeros");

	CHECK_OK(ftruncate(fd, 4), "ftruncate shrinks the file");
	fstat(fd, &st);
	CHECK_EQ(st.st_size, 4, "fstat sees the truncated size");
	CHECK_OK(ftruncate(fd, 100), "ftruncate grows the file");
	memset(buf, 'x', sizeof buf);
	CHECK_EQ(pread(fd, buf, 8, 0), 8, "pread after growing with ftruncate");
	CHECK(memcmp(buf, "0123\0\0\0\0", 8) == 0, "ftruncate grows with zeros");
	CHECK_OK(ftruncate(fd, 0), "ftruncate to 0");

	CHECK_EQ(lseek(fd, 0, SEEK_SET), 0, "rewind before writev");
	struct iovec wv[3] = {{"ab", 2}, {"", 0}, {"cdef", 4}};
	CHECK_EQ(writev(fd, wv, 3), 6, "writev returns the sum of the iovec lengths");
	char a[3] = {0}, b[8] = {0};
	struct iovec rv[2] = {{a, 2}, {b, 8}};
	CHECK_EQ(lseek(fd, 0, SEEK_SET), 0, "rewind before readv");
	CHECK_EQ(readv(fd, rv, 2), 6, "readv returns the bytes available");
	CHECK(memcmp(a, "ab", 2) == 0 && memcmp(b, "cdef", 4) == 0, "readv scatters in iovec order");
	CHECK_ERRNO(syscall(SYS_readv, fd, rv, -1), EINVAL, "readv with a negative iovec count fails EINVAL");

	int p[2];
	CHECK_OK(pipe(p), "pipe for the seek tests");
	CHECK_ERRNO(lseek(p[0], 0, SEEK_SET), ESPIPE, "lseek on a pipe fails ESPIPE");
	CHECK_ERRNO(pread(p[0], buf, 1, 0), ESPIPE, "pread on a pipe fails ESPIPE");
	CHECK_ERRNO(pwrite(p[1], "x", 1, 0), ESPIPE, "pwrite on a pipe fails ESPIPE");
	close(p[0]);
	close(p[1]);

	close(fd);
	CHECK_ERRNO(read(fd, buf, 1), EBADF, "read from a closed fd fails EBADF");
	CHECK_ERRNO(write(fd, "x", 1), EBADF, "write to a closed fd fails EBADF");
	unlink(path);
	return check_done();
}
