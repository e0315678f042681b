/* open and openat: creation flags, access modes and the classic errors. */
#include "../check.h"
#include <fcntl.h>
#include <sys/stat.h>

int main(void) {
	char dir[] = "/tmp/conf-open-XXXXXX";
	if (!CHECK(mkdtemp(dir) != NULL, "mkdtemp creates a scratch directory in /tmp"))
		return check_done();
	CHECK_OK(chdir(dir), "chdir into the scratch directory");
	umask(022);

	int fd = CHECK_OK(open("f", O_CREAT | O_EXCL | O_RDWR, 0640), "open O_CREAT|O_EXCL creates a new file");
	struct stat st;
	CHECK_OK(fstat(fd, &st), "fstat the new file");
	CHECK_EQ(st.st_mode & 07777, 0640, "O_CREAT mode 0640 under umask 022 gives 0640");
	CHECK_EQ(write(fd, "hello world", 11), 11, "write 11 bytes to the new file");
	close(fd);

	CHECK_ERRNO(open("f", O_CREAT | O_EXCL | O_RDWR, 0644), EEXIST, "O_CREAT|O_EXCL on an existing file fails EEXIST");
	CHECK_ERRNO(open("missing", O_RDONLY), ENOENT, "open of a missing file without O_CREAT fails ENOENT");
	CHECK_ERRNO(open("nodir/f", O_CREAT | O_RDWR, 0644), ENOENT, "O_CREAT in a missing directory fails ENOENT");
	CHECK_ERRNO(open("", O_RDONLY), ENOENT, "open of the empty path fails ENOENT");

	fd = CHECK_OK(open("f", O_CREAT | O_RDWR, 0600), "O_CREAT without O_EXCL opens an existing file");
	CHECK_OK(fstat(fd, &st), "fstat the reopened file");
	CHECK_EQ(st.st_size, 11, "O_CREAT without O_TRUNC keeps the content");
	CHECK_EQ(st.st_mode & 07777, 0640, "O_CREAT of an existing file keeps its mode");
	close(fd);

	fd = CHECK_OK(open("f", O_WRONLY | O_TRUNC), "open O_TRUNC of an existing file");
	CHECK_OK(fstat(fd, &st), "fstat after O_TRUNC");
	CHECK_EQ(st.st_size, 0, "O_TRUNC truncates the file to size 0");
	CHECK_EQ(write(fd, "abc", 3), 3, "write after O_TRUNC");
	close(fd);

	fd = CHECK_OK(open("f", O_WRONLY | O_APPEND), "open O_APPEND");
	CHECK_EQ(lseek(fd, 0, SEEK_SET), 0, "lseek to 0 on an O_APPEND fd");
	CHECK_EQ(write(fd, "def", 3), 3, "write on an O_APPEND fd");
	CHECK_EQ(lseek(fd, 0, SEEK_CUR), 6, "O_APPEND write leaves the offset at the new end");
	close(fd);
	char buf[16] = {0};
	fd = open("f", O_RDONLY);
	CHECK_EQ(read(fd, buf, sizeof buf), 6, "file written with O_APPEND has 6 bytes");
	CHECK_STREQ(buf, "abcdef", "O_APPEND write went to the end despite lseek to 0");
	CHECK_ERRNO(write(fd, "x", 1), EBADF, "write to an O_RDONLY fd fails EBADF");
	close(fd);
	fd = open("f", O_WRONLY);
	CHECK_ERRNO(read(fd, buf, 1), EBADF, "read from an O_WRONLY fd fails EBADF");
	close(fd);

	CHECK_OK(mkdir("d", 0755), "mkdir a subdirectory");
	CHECK_ERRNO(open("f", O_RDONLY | O_DIRECTORY), ENOTDIR, "O_DIRECTORY on a regular file fails ENOTDIR");
	fd = CHECK_OK(open("d", O_RDONLY | O_DIRECTORY), "O_DIRECTORY on a directory succeeds");
	close(fd);
	CHECK_ERRNO(open("d", O_WRONLY), EISDIR, "open of a directory for writing fails EISDIR");
	CHECK_ERRNO(open("d", O_RDWR | O_CREAT, 0644), EISDIR, "O_CREAT on an existing directory fails EISDIR");
	CHECK_ERRNO(open("f/x", O_RDONLY), ENOTDIR, "a regular file used as a path component fails ENOTDIR");

	CHECK_OK(symlink("f", "lnk"), "symlink to the file");
	CHECK_ERRNO(open("lnk", O_RDONLY | O_NOFOLLOW), ELOOP, "O_NOFOLLOW on a symlink fails ELOOP");
	fd = CHECK_OK(open("f", O_RDONLY | O_NOFOLLOW), "O_NOFOLLOW on a regular file succeeds");
	close(fd);
	fd = CHECK_OK(open("lnk", O_RDONLY), "open follows a symlink by default");
	memset(buf, 0, sizeof buf);
	CHECK_EQ(read(fd, buf, sizeof buf), 6, "reading through the symlink gives the target's bytes");
	close(fd);
	CHECK_OK(symlink("dangling-target", "dangling"), "symlink to a missing target");
	CHECK_ERRNO(open("dangling", O_RDONLY), ENOENT, "open of a dangling symlink fails ENOENT");

	int dfd = CHECK_OK(open("d", O_RDONLY | O_DIRECTORY), "open a directory fd for openat");
	fd = CHECK_OK(openat(dfd, "g", O_CREAT | O_EXCL | O_WRONLY, 0644), "openat O_CREAT relative to a directory fd");
	close(fd);
	CHECK_OK(access("d/g", F_OK), "openat created the file inside the dirfd's directory");
	fd = CHECK_OK(openat(AT_FDCWD, "f", O_RDONLY), "openat AT_FDCWD resolves from the cwd");
	close(fd);
	CHECK_ERRNO(openat(1000, "f", O_RDONLY), EBADF, "openat with a bad dirfd and relative path fails EBADF");
	int ffd = open("f", O_RDONLY);
	CHECK_ERRNO(openat(ffd, "x", O_RDONLY), ENOTDIR, "openat relative to a regular file's fd fails ENOTDIR");
	char abs[64];
	snprintf(abs, sizeof abs, "%s/f", dir);
	fd = CHECK_OK(openat(ffd, abs, O_RDONLY), "openat with an absolute path ignores the dirfd");
	close(fd);
	close(ffd);
	close(dfd);
	return check_done();
}
