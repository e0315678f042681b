/* sendfile, splice, tee and copy_file_range between files and pipes. */
#include "../check.h"
#include <fcntl.h>
#include <signal.h>
#include <sys/sendfile.h>
#include <sys/stat.h>

static int scratch(const char *content) {
	char path[] = "/tmp/conf-splice-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		return -1;
	unlink(path);
	if (content && write(fd, content, strlen(content)) != (ssize_t)strlen(content))
		return -1;
	lseek(fd, 0, SEEK_SET);
	return fd;
}

int main(void) {
	char buf[128];
	int p[2], q[2];
	signal(SIGPIPE, SIG_IGN);
	int src = CHECK_OK(scratch("0123456789"), "scratch source file");
	CHECK_OK(pipe(p), "pipe");
	CHECK_OK(pipe(q), "second pipe");

	/* sendfile */
	off_t off = 2;
	CHECK_EQ(sendfile(p[1], src, &off, 3), 3, "sendfile with an offset copies count bytes");
	CHECK_EQ(off, 5, "sendfile updates *offset");
	CHECK_EQ(lseek(src, 0, SEEK_CUR), 0, "sendfile with an offset leaves the file position");
	memset(buf, 0, sizeof buf);
	CHECK_EQ(read(p[0], buf, sizeof buf), 3, "pipe holds the sent bytes");
	CHECK_STREQ(buf, "234", "sendfile sent the bytes at the offset");
	CHECK_EQ(sendfile(p[1], src, NULL, 100), 10, "sendfile without offset stops at EOF");
	CHECK_EQ(lseek(src, 0, SEEK_CUR), 10, "sendfile without offset advances the file position");
	CHECK_EQ(read(p[0], buf, sizeof buf), 10, "pipe holds the whole file");
	CHECK_EQ(sendfile(p[1], src, NULL, 100), 0, "sendfile at EOF returns 0");
	int dst = CHECK_OK(scratch(NULL), "scratch destination file");
	off = 0;
	CHECK_EQ(sendfile(dst, src, &off, 4), 4, "sendfile file to file");
	memset(buf, 0, sizeof buf);
	CHECK_EQ(pread(dst, buf, sizeof buf, 0), 4, "destination has the bytes");
	CHECK_STREQ(buf, "0123", "file to file content");
	int wr = CHECK_OK(open("/dev/null", O_WRONLY | O_APPEND), "open /dev/null O_APPEND");
	CHECK_ERRNO(sendfile(wr, src, &off, 1), EINVAL, "sendfile to an O_APPEND file fails EINVAL");
	close(wr);
	CHECK_ERRNO(sendfile(p[0], src, NULL, 1), EBADF, "sendfile to a read-only fd fails EBADF");
	CHECK_ERRNO(sendfile(dst, p[0], NULL, 1), EINVAL, "sendfile from a pipe fails EINVAL");

	/* splice */
	loff_t lo = 6;
	CHECK_EQ(splice(src, &lo, p[1], NULL, 3, 0), 3, "splice file to pipe with an offset");
	CHECK_EQ(lo, 9, "splice updates the input offset");
	CHECK_EQ(splice(p[0], NULL, q[1], NULL, 2, 0), 2, "splice pipe to pipe");
	memset(buf, 0, sizeof buf);
	CHECK_EQ(read(q[0], buf, sizeof buf), 2, "second pipe holds the moved bytes");
	CHECK_STREQ(buf, "67", "pipe to pipe content");
	lo = 0;
	CHECK_EQ(splice(p[0], NULL, dst, &lo, 10, 0), 1, "splice pipe to file moves what is buffered");
	memset(buf, 0, sizeof buf);
	CHECK_EQ(pread(dst, buf, 4, 0), 4, "read destination back");
	CHECK_STREQ(buf, "8123", "splice wrote at the output offset");
	CHECK_ERRNO(splice(p[0], NULL, q[1], NULL, 1, SPLICE_F_NONBLOCK), EAGAIN,
		    "splice from an empty pipe with SPLICE_F_NONBLOCK fails EAGAIN");
	lo = 0;
	CHECK_ERRNO(splice(p[0], &lo, q[1], NULL, 1, 0), ESPIPE, "splice with an offset on a pipe fails ESPIPE");
	CHECK_ERRNO(splice(src, NULL, dst, NULL, 1, 0), EINVAL, "splice between two files fails EINVAL");
	CHECK_ERRNO(splice(p[0], NULL, p[1], NULL, 1, 0), EINVAL, "splice from a pipe to itself fails EINVAL");

	/* tee */
	CHECK_EQ(write(p[1], "tee!", 4), 4, "fill pipe");
	CHECK_EQ(tee(p[0], q[1], 100, 0), 4, "tee duplicates the buffered bytes");
	memset(buf, 0, sizeof buf);
	CHECK_EQ(read(q[0], buf, sizeof buf), 4, "tee output pipe has the bytes");
	CHECK_STREQ(buf, "tee!", "tee content");
	memset(buf, 0, sizeof buf);
	CHECK_EQ(read(p[0], buf, sizeof buf), 4, "tee input pipe still has the bytes");
	CHECK_ERRNO(tee(p[0], q[1], 1, SPLICE_F_NONBLOCK), EAGAIN, "tee from an empty pipe nonblocking fails EAGAIN");
	CHECK_ERRNO(tee(src, q[1], 1, 0), EINVAL, "tee from a file fails EINVAL");
	close(p[1]);
	CHECK_EQ(splice(p[0], NULL, q[1], NULL, 1, 0), 0, "splice from a drained pipe without writers returns 0");
	close(q[0]);
	int r[2];
	CHECK_OK(pipe(r), "third pipe");
	CHECK_EQ(write(r[1], "x", 1), 1, "fill third pipe");
	CHECK_ERRNO(splice(r[0], NULL, q[1], NULL, 1, 0), EPIPE, "splice to a pipe without readers fails EPIPE");

	/* copy_file_range */
	int cf = CHECK_OK(scratch("abcdefghij"), "scratch file for copy_file_range");
	loff_t in = 0, out = 20;
	CHECK_EQ(copy_file_range(cf, &in, cf, &out, 5, 0), 5, "copy_file_range within a file");
	CHECK_EQ(in, 5, "copy_file_range updates the input offset");
	CHECK_EQ(out, 25, "copy_file_range updates the output offset");
	struct stat st;
	fstat(cf, &st);
	CHECK_EQ(st.st_size, 25, "copy past EOF extends the file");
	memset(buf, 0, sizeof buf);
	CHECK_EQ(pread(cf, buf, 5, 20), 5, "read the copy");
	CHECK_STREQ(buf, "abcde", "copied content");
	in = 0, out = 2;
	CHECK_ERRNO(copy_file_range(cf, &in, cf, &out, 5, 0), EINVAL, "overlapping ranges of one file fail EINVAL");
	CHECK_ERRNO(copy_file_range(cf, NULL, dst, NULL, 5, 1), EINVAL, "copy_file_range with flags fails EINVAL");
	int cd = CHECK_OK(scratch(NULL), "second copy_file_range file");
	lseek(cf, 3, SEEK_SET);
	CHECK_EQ(copy_file_range(cf, NULL, cd, NULL, 4, 0), 4, "copy_file_range using file positions");
	CHECK_EQ(lseek(cf, 0, SEEK_CUR), 7, "input position advanced");
	CHECK_EQ(lseek(cd, 0, SEEK_CUR), 4, "output position advanced");
	memset(buf, 0, sizeof buf);
	CHECK_EQ(pread(cd, buf, sizeof buf, 0), 4, "second file has the bytes");
	CHECK_STREQ(buf, "defg", "copy_file_range between files");
	in = 100;
	CHECK_EQ(copy_file_range(cf, &in, cd, NULL, 5, 0), 0, "copy_file_range from beyond EOF returns 0");
	CHECK_ERRNO(copy_file_range(r[0], NULL, cd, NULL, 1, 0), EINVAL, "copy_file_range from a pipe fails EINVAL");
	int rd = CHECK_OK(open("/proc/self/exe", O_RDONLY), "open a read-only file");
	CHECK_ERRNO(copy_file_range(cf, NULL, rd, NULL, 1, 0), EBADF, "copy_file_range to a read-only fd fails EBADF");
	close(rd);
	return check_done();
}
