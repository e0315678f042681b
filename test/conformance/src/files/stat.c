/* fstat, newfstatat (raw syscall) and statx: types, modes, sizes, inode numbers. */
#include "../check.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>

/* fstatat_raw calls newfstatat directly, whatever glibc's fstatat uses. */
static long fstatat_raw(int dirfd, const char *path, struct stat *st, int flags) {
	return syscall(SYS_newfstatat, dirfd, path, st, flags);
}

int main(void) {
	char dir[] = "/tmp/conf-stat-XXXXXX";
	if (!CHECK(mkdtemp(dir) != NULL, "mkdtemp creates a scratch directory"))
		return check_done();
	CHECK_OK(chdir(dir), "chdir into the scratch directory");
	umask(022);
	int fd = open("f", O_CREAT | O_RDWR, 0640);
	write(fd, "0123456789abc", 13);

	struct stat st, st2;
	CHECK_OK(fstat(fd, &st), "fstat of a regular file succeeds");
	CHECK(S_ISREG(st.st_mode), "fstat reports S_IFREG for a regular file");
	CHECK_EQ(st.st_mode & 07777, 0640, "fstat reports the permission bits");
	CHECK_EQ(st.st_size, 13, "fstat reports the size");
	CHECK_EQ(st.st_nlink, 1, "a new file has one link");
	CHECK(st.st_ino != 0, "st_ino is non-zero");
	CHECK_EQ(st.st_uid, getuid(), "a new file belongs to the caller's uid");
	CHECK(st.st_blksize > 0, "st_blksize is positive");
	time_t now = time(NULL);
	CHECK(st.st_mtime > now - 3600 && st.st_mtime <= now + 5, "a new file's mtime is about now");

	CHECK_OK(fstatat_raw(AT_FDCWD, "f", &st2, 0), "newfstatat of the file by path");
	CHECK(st2.st_ino == st.st_ino && st2.st_dev == st.st_dev, "newfstatat and fstat agree on dev and ino");
	CHECK_EQ(st2.st_size, 13, "newfstatat reports the size");
	CHECK_OK(fstatat_raw(fd, "", &st2, AT_EMPTY_PATH), "newfstatat AT_EMPTY_PATH on an fd");
	CHECK_EQ(st2.st_ino, st.st_ino, "newfstatat AT_EMPTY_PATH describes the fd's file");
	CHECK_ERRNO(fstatat_raw(AT_FDCWD, "", &st2, 0), ENOENT, "newfstatat of an empty path without AT_EMPTY_PATH fails ENOENT");
	CHECK_ERRNO(fstatat_raw(AT_FDCWD, "missing", &st2, 0), ENOENT, "newfstatat of a missing path fails ENOENT");
	CHECK_ERRNO(fstatat_raw(AT_FDCWD, "f/x", &st2, 0), ENOTDIR, "newfstatat through a regular file fails ENOTDIR");

	mkdir("d", 0755);
	CHECK_OK(fstatat_raw(AT_FDCWD, "d", &st2, 0), "newfstatat of a directory");
	CHECK(S_ISDIR(st2.st_mode), "newfstatat reports S_IFDIR for a directory");
	CHECK(st2.st_nlink >= 2, "a directory has at least two links");
	CHECK_EQ(st2.st_mode & 07777, 0755, "a directory's permission bits");

	symlink("f", "lnk");
	CHECK_OK(fstatat_raw(AT_FDCWD, "lnk", &st2, AT_SYMLINK_NOFOLLOW), "newfstatat AT_SYMLINK_NOFOLLOW on a symlink");
	CHECK(S_ISLNK(st2.st_mode), "AT_SYMLINK_NOFOLLOW reports S_IFLNK");
	CHECK_EQ(st2.st_size, 1, "a symlink's size is its target's length");
	CHECK_OK(fstatat_raw(AT_FDCWD, "lnk", &st2, 0), "newfstatat follows a symlink by default");
	CHECK_EQ(st2.st_ino, st.st_ino, "following the symlink reaches the target's inode");
	int dfd = open("d", O_RDONLY | O_DIRECTORY);
	CHECK_OK(fstatat_raw(dfd, "../f", &st2, 0), "newfstatat relative to a directory fd with ..");
	CHECK_EQ(st2.st_ino, st.st_ino, "dirfd/../f names the same file");
	close(dfd);

	struct statx sx;
	memset(&sx, 0, sizeof sx);
	CHECK_OK(statx(AT_FDCWD, "f", 0, STATX_BASIC_STATS, &sx), "statx of a regular file");
	unsigned want = STATX_TYPE | STATX_MODE | STATX_NLINK | STATX_INO | STATX_SIZE;
	CHECK_EQ(sx.stx_mask & want, want, "statx mask has type, mode, nlink, ino and size");
	CHECK(S_ISREG(sx.stx_mode), "statx reports S_IFREG");
	CHECK_EQ(sx.stx_mode & 07777, 0640, "statx reports the permission bits");
	CHECK_EQ(sx.stx_size, 13, "statx reports the size");
	CHECK_EQ(sx.stx_ino, st.st_ino, "statx and fstat agree on the inode number");
	CHECK_EQ(sx.stx_nlink, 1, "statx reports one link");
	CHECK_EQ(sx.stx_mtime.tv_sec, st.st_mtime, "statx and fstat agree on the mtime");
	CHECK_OK(statx(AT_FDCWD, "lnk", AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &sx), "statx AT_SYMLINK_NOFOLLOW");
	CHECK(S_ISLNK(sx.stx_mode), "statx AT_SYMLINK_NOFOLLOW reports S_IFLNK");
	CHECK_OK(statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &sx), "statx AT_EMPTY_PATH on an fd");
	CHECK_EQ(sx.stx_ino, st.st_ino, "statx AT_EMPTY_PATH describes the fd's file");
	CHECK_ERRNO(statx(AT_FDCWD, "missing", 0, STATX_BASIC_STATS, &sx), ENOENT, "statx of a missing path fails ENOENT");

	int p[2];
	pipe(p);
	CHECK_OK(fstat(p[0], &st2), "fstat of a pipe");
	CHECK(S_ISFIFO(st2.st_mode), "fstat reports S_IFIFO for a pipe");
	close(p[0]);
	close(p[1]);
	close(fd);
	CHECK_ERRNO(fstat(fd, &st2), EBADF, "fstat of a closed fd fails EBADF");
	return check_done();
}
