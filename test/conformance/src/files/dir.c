/* getdents64, readlink, access, mkdir, unlink, rmdir, rename, chdir and getcwd. */
#include "../check.h"
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/syscall.h>

struct dirent64_raw {
	unsigned long long d_ino;
	long long d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

/* listing is what one getdents64 pass over a directory saw. */
struct listing {
	int n, dot, dotdot, file, sub, other, file_type, sub_type, aligned;
};

static void list_dir(int fd, struct listing *l) {
	char buf[4096];
	long n;
	memset(l, 0, sizeof *l);
	l->aligned = 1;
	while ((n = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0) {
		for (long off = 0; off < n;) {
			struct dirent64_raw *d = (struct dirent64_raw *)(buf + off);
			if (d->d_reclen % 8 != 0 || d->d_reclen == 0)
				l->aligned = 0;
			l->n++;
			if (strcmp(d->d_name, ".") == 0)
				l->dot++;
			else if (strcmp(d->d_name, "..") == 0)
				l->dotdot++;
			else if (strcmp(d->d_name, "file") == 0)
				l->file++, l->file_type = d->d_type;
			else if (strcmp(d->d_name, "sub") == 0)
				l->sub++, l->sub_type = d->d_type;
			else
				l->other++;
			if (d->d_reclen == 0)
				break;
			off += d->d_reclen;
		}
	}
}

static int exists(const char *p) {
	struct stat st;
	return lstat(p, &st) == 0;
}

static void put(const char *p, const char *s) {
	int fd = open(p, O_CREAT | O_TRUNC | O_WRONLY, 0644);
	write(fd, s, strlen(s));
	close(fd);
}

int main(void) {
	char dir[] = "/tmp/conf-dir-XXXXXX";
	if (!CHECK(mkdtemp(dir) != NULL, "mkdtemp creates a scratch directory"))
		return check_done();
	CHECK_OK(chdir(dir), "chdir into the scratch directory");
	char cwd[PATH_MAX];
	CHECK_STREQ(getcwd(cwd, sizeof cwd), dir, "getcwd returns the directory chdir went to");

	CHECK_OK(mkdir("sub", 0755), "mkdir creates a directory");
	CHECK_ERRNO(mkdir("sub", 0755), EEXIST, "mkdir of an existing directory fails EEXIST");
	CHECK_ERRNO(mkdir("nope/x", 0755), ENOENT, "mkdir in a missing parent fails ENOENT");
	put("file", "content");
	CHECK_ERRNO(mkdir("file", 0755), EEXIST, "mkdir over an existing file fails EEXIST");
	CHECK_ERRNO(mkdir("file/x", 0755), ENOTDIR, "mkdir under a regular file fails ENOTDIR");

	int dfd = open(".", O_RDONLY | O_DIRECTORY);
	struct listing l;
	list_dir(dfd, &l);
	CHECK(l.dot == 1 && l.dotdot == 1, "getdents64 lists . and .. once each");
	CHECK(l.file == 1 && l.sub == 1 && l.other == 0, "getdents64 lists exactly the created entries");
	CHECK_EQ(l.file_type, DT_REG, "getdents64 gives DT_REG for a regular file");
	CHECK_EQ(l.sub_type, DT_DIR, "getdents64 gives DT_DIR for a directory");
	CHECK(l.aligned, "getdents64 record lengths are multiples of 8");
	char buf[256];
	CHECK_EQ(syscall(SYS_getdents64, dfd, buf, sizeof buf), 0, "getdents64 at the end of the directory returns 0");
	CHECK_EQ(lseek(dfd, 0, SEEK_SET), 0, "lseek a directory fd back to 0");
	list_dir(dfd, &l);
	CHECK_EQ(l.n, 4, "getdents64 after rewinding lists all 4 entries again");
	close(dfd);
	int ffd = open("file", O_RDONLY);
	CHECK_ERRNO(syscall(SYS_getdents64, ffd, buf, sizeof buf), ENOTDIR, "getdents64 on a regular file fails ENOTDIR");
	close(ffd);
	dfd = open(".", O_RDONLY | O_DIRECTORY);
	CHECK_ERRNO(syscall(SYS_getdents64, dfd, buf, 8), EINVAL, "getdents64 with a too small buffer fails EINVAL");
	close(dfd);

	CHECK_OK(symlink("file", "lnk"), "symlink creates a link");
	memset(buf, 0, sizeof buf);
	CHECK_EQ(readlink("lnk", buf, sizeof buf), 4, "readlink returns the target's length");
	CHECK_STREQ(buf, "file", "readlink returns the target (not NUL-terminated by the kernel)");
	memset(buf, 0, sizeof buf);
	CHECK_EQ(readlink("lnk", buf, 2), 2, "readlink truncates to the buffer size");
	CHECK_ERRNO(readlink("file", buf, sizeof buf), EINVAL, "readlink of a regular file fails EINVAL");
	CHECK_ERRNO(readlink("missing", buf, sizeof buf), ENOENT, "readlink of a missing path fails ENOENT");
	CHECK_ERRNO(symlink("x", "lnk"), EEXIST, "symlink over an existing name fails EEXIST");

	CHECK_OK(access("file", F_OK), "access F_OK of an existing file");
	CHECK_OK(access("file", R_OK | W_OK), "access R_OK|W_OK of an owned 0644 file");
	CHECK_ERRNO(access("file", X_OK), EACCES, "access X_OK of a 0644 file fails EACCES");
	CHECK_ERRNO(access("missing", F_OK), ENOENT, "access of a missing path fails ENOENT");
	CHECK_OK(access("sub", X_OK), "access X_OK of a 0755 directory");

	CHECK_ERRNO(unlink("missing"), ENOENT, "unlink of a missing path fails ENOENT");
	CHECK_ERRNO(unlink("sub"), EISDIR, "unlink of a directory fails EISDIR");
	put("sub/inner", "x");
	CHECK_ERRNO(rmdir("sub"), ENOTEMPTY, "rmdir of a non-empty directory fails ENOTEMPTY");
	CHECK_ERRNO(rmdir("file"), ENOTDIR, "rmdir of a regular file fails ENOTDIR");
	CHECK_ERRNO(rmdir("missing"), ENOENT, "rmdir of a missing path fails ENOENT");
	CHECK_OK(unlink("sub/inner"), "unlink a file");
	CHECK(!exists("sub/inner"), "an unlinked file is gone");
	CHECK_OK(rmdir("sub"), "rmdir of an empty directory");
	CHECK(!exists("sub"), "a removed directory is gone");
	CHECK_OK(unlink("lnk"), "unlink of a symlink");
	CHECK(exists("file"), "unlinking a symlink leaves its target");

	CHECK_OK(rename("file", "renamed"), "rename a file");
	CHECK(!exists("file") && exists("renamed"), "rename moves the name");
	put("other", "other");
	CHECK_OK(rename("other", "renamed"), "rename over an existing file");
	memset(buf, 0, sizeof buf);
	int fd = open("renamed", O_RDONLY);
	read(fd, buf, sizeof buf);
	close(fd);
	CHECK_STREQ(buf, "other", "rename over a file replaces its content");
	CHECK(!exists("other"), "the renamed-over source name is gone");
	mkdir("d1", 0755);
	mkdir("d2", 0755);
	put("d2/x", "x");
	CHECK_ERRNO(rename("d1", "d2"), ENOTEMPTY, "rename of a directory over a non-empty one fails ENOTEMPTY");
	CHECK_ERRNO(rename("renamed", "d1"), EISDIR, "rename of a file over a directory fails EISDIR");
	CHECK_ERRNO(rename("d1", "renamed"), ENOTDIR, "rename of a directory over a file fails ENOTDIR");
	CHECK_ERRNO(rename("missing", "x"), ENOENT, "rename of a missing source fails ENOENT");
	CHECK_ERRNO(rename("d1", "d1/inside"), EINVAL, "rename of a directory into itself fails EINVAL");
	CHECK_OK(rename("d1", "d3"), "rename a directory");
	CHECK_OK(rename("d2/x", "d3/x"), "rename a file across directories");
	CHECK(exists("d3/x") && !exists("d2/x"), "a file renamed across directories moved");

	CHECK_OK(chdir("d3"), "chdir into a subdirectory by relative path");
	snprintf(buf, sizeof buf, "%s/d3", dir);
	CHECK_STREQ(getcwd(cwd, sizeof cwd), buf, "getcwd after a relative chdir");
	fd = open("x", O_RDONLY);
	CHECK(fd >= 0, "relative open resolves in the new cwd");
	close(fd);
	CHECK_OK(chdir(".."), "chdir ..");
	CHECK_STREQ(getcwd(cwd, sizeof cwd), dir, "getcwd after chdir .. is the parent");
	CHECK_ERRNO(chdir("renamed"), ENOTDIR, "chdir to a regular file fails ENOTDIR");
	CHECK_ERRNO(chdir("missing"), ENOENT, "chdir to a missing path fails ENOENT");
	CHECK(getcwd(cwd, 4) == NULL && errno == ERANGE, "getcwd with a too small buffer fails ERANGE");
	symlink("d3", "via");
	CHECK_OK(chdir("via"), "chdir through a symlink to a directory");
	CHECK_STREQ(getcwd(cwd, sizeof cwd), buf, "getcwd after chdir through a symlink gives the resolved path");
	dfd = open(dir, O_RDONLY | O_DIRECTORY);
	CHECK_OK(fchdir(dfd), "fchdir to a directory fd");
	CHECK_STREQ(getcwd(cwd, sizeof cwd), dir, "getcwd after fchdir");
	close(dfd);
	CHECK_OK(chdir("/"), "chdir to /");
	CHECK_STREQ(getcwd(cwd, sizeof cwd), "/", "getcwd at the root is /");
	return check_done();
}
