/* fallocate, O_TMPFILE with linkat, openat2, close_range, sync_file_range and syncfs. */
#include "../check.h"
#include <fcntl.h>
#include <stdint.h>
#include <linux/close_range.h>
#include <linux/falloc.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>

static long openat2_(int dirfd, const char *path, struct open_how *how, size_t size) {
	return syscall(SYS_openat2, dirfd, path, how, size);
}

int main(void) {
	char dir[] = "/tmp/conf-fdops-XXXXXX", path[128];
	CHECK(mkdtemp(dir) != NULL, "mkdtemp");
	snprintf(path, sizeof path, "%s/f", dir);
	struct stat st;

	/* fallocate */
	int fd = CHECK_OK(open(path, O_RDWR | O_CREAT, 0644), "create a file");
	CHECK_OK(fallocate(fd, 0, 0, 8192), "fallocate mode 0");
	fstat(fd, &st);
	CHECK_EQ(st.st_size, 8192, "fallocate mode 0 extends the file");
	CHECK_OK(fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 65536), "fallocate FALLOC_FL_KEEP_SIZE");
	fstat(fd, &st);
	CHECK_EQ(st.st_size, 8192, "FALLOC_FL_KEEP_SIZE keeps the size");
	CHECK_OK(fallocate(fd, 0, 100, 10), "fallocate inside the file");
	fstat(fd, &st);
	CHECK_EQ(st.st_size, 8192, "fallocate inside the file keeps the size");
	CHECK_EQ(pwrite(fd, "abcdefgh", 8, 0), 8, "write data");
	CHECK_OK(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 2, 4), "punch a hole");
	char buf[16] = {0};
	CHECK_EQ(pread(fd, buf, 8, 0), 8, "read back");
	CHECK(memcmp(buf, "ab\0\0\0\0gh", 8) == 0, "the punched range reads as zeros");
	CHECK_ERRNO(fallocate(fd, FALLOC_FL_PUNCH_HOLE, 0, 1), EOPNOTSUPP, "PUNCH_HOLE without KEEP_SIZE fails EOPNOTSUPP");
	CHECK_ERRNO(fallocate(fd, 0, 0, 0), EINVAL, "fallocate of length 0 fails EINVAL");
	CHECK_ERRNO(fallocate(fd, 0, -1, 1), EINVAL, "fallocate at a negative offset fails EINVAL");
	int ro = CHECK_OK(open(path, O_RDONLY), "open read-only");
	CHECK_ERRNO(fallocate(ro, 0, 0, 1), EBADF, "fallocate on a read-only fd fails EBADF");
	int p[2];
	pipe(p);
	CHECK_ERRNO(fallocate(p[1], 0, 0, 1), ESPIPE, "fallocate on a pipe fails ESPIPE");
	CHECK_OK(sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE), "sync_file_range");
	CHECK_ERRNO(sync_file_range(fd, 0, 0, 0x100), EINVAL, "sync_file_range with bad flags fails EINVAL");
	CHECK_ERRNO(sync_file_range(p[1], 0, 0, 0), ESPIPE, "sync_file_range on a pipe fails ESPIPE");
	CHECK_OK(syncfs(fd), "syncfs");
	CHECK_ERRNO(syncfs(-1), EBADF, "syncfs on a bad fd fails EBADF");

	/* O_TMPFILE */
	int tf = open(dir, O_TMPFILE | O_RDWR, 0600);
	CHECK(tf >= 0, "open O_TMPFILE in a directory");
	CHECK_EQ(write(tf, "tmp", 3), 3, "write the unnamed file");
	fstat(tf, &st);
	CHECK_EQ(st.st_nlink, 0, "an O_TMPFILE file has no links");
	CHECK_ERRNO(open(dir, O_TMPFILE | O_RDONLY, 0600), EINVAL, "O_TMPFILE read-only fails EINVAL");
	CHECK_ERRNO(open(path, O_TMPFILE | O_RDWR, 0600), ENOTDIR, "O_TMPFILE on a file fails ENOTDIR");
	char named[160];
	snprintf(named, sizeof named, "%s/named", dir);
	CHECK_OK(linkat(tf, "", AT_FDCWD, named, AT_EMPTY_PATH), "linkat AT_EMPTY_PATH names the file");
	int nf = CHECK_OK(open(named, O_RDONLY), "open the linked name");
	memset(buf, 0, sizeof buf);
	CHECK_EQ(read(nf, buf, sizeof buf), 3, "the linked file has the data");
	CHECK_STREQ(buf, "tmp", "linked content");
	close(nf);
	close(tf);
	unlink(named);

	/* openat2 */
	int dfd = CHECK_OK(open(dir, O_RDONLY | O_DIRECTORY), "open the directory");
	char link[160];
	snprintf(link, sizeof link, "%s/link", dir);
	CHECK_OK(symlink("f", link), "symlink");
	struct open_how how = {.flags = O_RDONLY};
	int o = CHECK_OK(openat2_(dfd, "f", &how, sizeof how), "openat2 plain");
	close(o);
	CHECK_ERRNO(openat2_(dfd, "f", &how, 8), EINVAL, "openat2 with a short struct fails EINVAL");
	struct {
		struct open_how h;
		uint64_t extra;
	} big = {.h = {.flags = O_RDONLY}, .extra = 1};
	CHECK_ERRNO(openat2_(dfd, "f", &big.h, sizeof big), E2BIG, "openat2 with non-zero trailing bytes fails E2BIG");
	big.extra = 0;
	o = CHECK_OK(openat2_(dfd, "f", &big.h, sizeof big), "openat2 with zero trailing bytes");
	close(o);
	how = (struct open_how){.flags = O_RDONLY, .mode = 0644};
	CHECK_ERRNO(openat2_(dfd, "f", &how, sizeof how), EINVAL, "openat2 mode without O_CREAT fails EINVAL");
	how = (struct open_how){.flags = O_RDONLY | (1ULL << 40)};
	CHECK_ERRNO(openat2_(dfd, "f", &how, sizeof how), EINVAL, "openat2 with unknown flags fails EINVAL");
	how = (struct open_how){.flags = O_RDONLY, .resolve = 1 << 20};
	CHECK_ERRNO(openat2_(dfd, "f", &how, sizeof how), EINVAL, "openat2 with unknown resolve flags fails EINVAL");
	how = (struct open_how){.flags = O_RDONLY, .resolve = RESOLVE_BENEATH | RESOLVE_IN_ROOT};
	CHECK_ERRNO(openat2_(dfd, "f", &how, sizeof how), EINVAL, "RESOLVE_BENEATH with RESOLVE_IN_ROOT fails EINVAL");
	how = (struct open_how){.flags = O_RDONLY, .resolve = RESOLVE_NO_SYMLINKS};
	CHECK_ERRNO(openat2_(dfd, "link", &how, sizeof how), ELOOP, "RESOLVE_NO_SYMLINKS refuses a symlink");
	how = (struct open_how){.flags = O_RDONLY, .resolve = RESOLVE_BENEATH};
	o = CHECK_OK(openat2_(dfd, "link", &how, sizeof how), "RESOLVE_BENEATH follows a relative symlink below dirfd");
	close(o);
	CHECK_ERRNO(openat2_(dfd, "../", &how, sizeof how), EXDEV, "RESOLVE_BENEATH refuses ..");
	CHECK_ERRNO(openat2_(dfd, "/tmp", &how, sizeof how), EXDEV, "RESOLVE_BENEATH refuses an absolute path");
	how = (struct open_how){.flags = O_RDONLY, .resolve = RESOLVE_IN_ROOT};
	o = CHECK_OK(openat2_(dfd, "/f", &how, sizeof how), "RESOLVE_IN_ROOT resolves / as dirfd");
	close(o);
	o = CHECK_OK(openat2_(dfd, "../../f", &how, sizeof how), "RESOLVE_IN_ROOT clamps .. at dirfd");
	close(o);

	/* close_range */
	int a = dup(fd), b = dup(fd);
	CHECK_OK(syscall(SYS_close_range, a, b, CLOSE_RANGE_CLOEXEC), "close_range CLOSE_RANGE_CLOEXEC");
	CHECK_EQ(fcntl(a, F_GETFD), FD_CLOEXEC, "close_range marked the first fd close-on-exec");
	CHECK_EQ(fcntl(b, F_GETFD), FD_CLOEXEC, "close_range marked the last fd close-on-exec");
	CHECK_OK(syscall(SYS_close_range, a, b, 0), "close_range closes");
	CHECK_ERRNO(fcntl(a, F_GETFD), EBADF, "the range is closed");
	CHECK_ERRNO(syscall(SYS_close_range, b, a, 0), EINVAL, "close_range with first > last fails EINVAL");

	unlink(link);
	unlink(path);
	CHECK_OK(rmdir(dir), "clean up");
	return check_done();
}
