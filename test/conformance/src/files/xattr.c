/* Extended attributes of a file that has none: get, list, remove, and the
 * path and fd errors that come before them. */
#include "../check.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>

int main(void) {
	char dir[] = "/tmp/conf-xattr-XXXXXX";
	if (!CHECK(mkdtemp(dir) != NULL, "mkdtemp creates a scratch directory"))
		return check_done();
	CHECK_OK(chdir(dir), "chdir into the scratch directory");
	int fd = open("f", O_CREAT | O_RDWR, 0644);
	CHECK(fd >= 0, "create a file");
	CHECK_OK(symlink("f", "l"), "create a symlink to it");

	char buf[64];
	CHECK_ERRNO(getxattr("f", "user.none", buf, sizeof buf), ENODATA, "getxattr of a missing attribute gives ENODATA");
	CHECK_ERRNO(lgetxattr("l", "user.none", buf, sizeof buf), ENODATA, "lgetxattr on a symlink gives ENODATA");
	CHECK_ERRNO(fgetxattr(fd, "user.none", buf, sizeof buf), ENODATA, "fgetxattr of a missing attribute gives ENODATA");
	CHECK_ERRNO(removexattr("f", "user.none"), ENODATA, "removexattr of a missing attribute gives ENODATA");
	CHECK_ERRNO(getxattr("missing", "user.none", buf, sizeof buf), ENOENT, "getxattr of a missing path gives ENOENT");
	CHECK_ERRNO(lgetxattr("missing", "user.none", buf, sizeof buf), ENOENT, "lgetxattr of a missing path gives ENOENT");
	CHECK_ERRNO(fgetxattr(9999, "user.none", buf, sizeof buf), EBADF, "fgetxattr of a bad fd gives EBADF");
	CHECK_ERRNO(flistxattr(9999, buf, sizeof buf), EBADF, "flistxattr of a bad fd gives EBADF");
	CHECK_ERRNO(listxattr("missing", buf, sizeof buf), ENOENT, "listxattr of a missing path gives ENOENT");
	close(fd);
	unlink("l");
	unlink("f");
	rmdir(dir);
	return check_done();
}
