/* inotify: events for changes made in a watched directory and file, reads, poll, rm_watch. */
#include "../check.h"
#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>

struct ev {
	int wd;
	uint32_t mask, cookie;
	char name[64];
};

/* next_events reads all queued events into evs and returns how many. */
static int next_events(int ifd, struct ev *evs, int max) {
	char buf[4096] __attribute__((aligned(8)));
	ssize_t n = read(ifd, buf, sizeof buf);
	int k = 0;
	for (ssize_t off = 0; n > 0 && off < n && k < max; k++) {
		struct inotify_event *e = (struct inotify_event *)(buf + off);
		evs[k].wd = e->wd;
		evs[k].mask = e->mask;
		evs[k].cookie = e->cookie;
		snprintf(evs[k].name, sizeof evs[k].name, "%s", e->len ? e->name : "");
		off += sizeof *e + e->len;
	}
	return k;
}

int main(void) {
	char dir[] = "/tmp/conf-inotify-XXXXXX", path[128], path2[128];
	CHECK(mkdtemp(dir) != NULL, "mkdtemp");
	snprintf(path, sizeof path, "%s/a", dir);
	snprintf(path2, sizeof path2, "%s/b", dir);
	struct ev evs[16];

	int ifd = CHECK_OK(inotify_init1(IN_NONBLOCK | IN_CLOEXEC), "inotify_init1");
	CHECK_EQ(fcntl(ifd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC, "IN_CLOEXEC sets close-on-exec");
	CHECK_ERRNO(inotify_init1(0x1234), EINVAL, "inotify_init1 with bad flags fails EINVAL");
	char tiny[4];
	CHECK_ERRNO(read(ifd, tiny, sizeof tiny), EAGAIN, "read with no event fails EAGAIN under IN_NONBLOCK");
	uint32_t mask = IN_CREATE | IN_DELETE | IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO | IN_ATTRIB;
	int wd = CHECK_OK(inotify_add_watch(ifd, dir, mask), "inotify_add_watch on a directory");
	CHECK_EQ(inotify_add_watch(ifd, dir, mask), wd, "watching the same directory again returns the same wd");
	struct pollfd pfd = {.fd = ifd, .events = POLLIN};
	CHECK_EQ(poll(&pfd, 1, 0), 0, "not readable without events");

	int fd = CHECK_OK(open(path, O_CREAT | O_WRONLY, 0644), "create a file in the watched directory");
	CHECK_EQ(poll(&pfd, 1, 1000), 1, "readable after an event");
	CHECK(pfd.revents & POLLIN, "POLLIN set");
	CHECK_ERRNO(read(ifd, tiny, sizeof tiny), EINVAL, "read into a buffer too small for an event fails EINVAL");
	int n = next_events(ifd, evs, 16);
	CHECK_EQ(n, 1, "one event for the creation");
	CHECK_EQ(evs[0].wd, wd, "event carries the wd");
	CHECK_EQ(evs[0].mask, IN_CREATE, "IN_CREATE");
	CHECK_STREQ(evs[0].name, "a", "IN_CREATE names the new entry");

	CHECK_EQ(write(fd, "hello", 5), 5, "write to the file");
	CHECK_OK(close(fd), "close the written file");
	n = next_events(ifd, evs, 16);
	CHECK_EQ(n, 2, "two events for write and close");
	CHECK_EQ(evs[0].mask, IN_MODIFY, "IN_MODIFY for the write");
	CHECK_STREQ(evs[0].name, "a", "IN_MODIFY names the entry");
	CHECK_EQ(evs[1].mask, IN_CLOSE_WRITE, "IN_CLOSE_WRITE for the close");

	CHECK_OK(chmod(path, 0600), "chmod the file");
	n = next_events(ifd, evs, 16);
	CHECK_EQ(n, 1, "one event for chmod");
	CHECK_EQ(evs[0].mask, IN_ATTRIB, "IN_ATTRIB for chmod");

	CHECK_OK(rename(path, path2), "rename in the watched directory");
	n = next_events(ifd, evs, 16);
	CHECK_EQ(n, 2, "two events for rename");
	CHECK_EQ(evs[0].mask, IN_MOVED_FROM, "IN_MOVED_FROM first");
	CHECK_STREQ(evs[0].name, "a", "IN_MOVED_FROM has the old name");
	CHECK_EQ(evs[1].mask, IN_MOVED_TO, "then IN_MOVED_TO");
	CHECK_STREQ(evs[1].name, "b", "IN_MOVED_TO has the new name");
	CHECK(evs[0].cookie != 0 && evs[0].cookie == evs[1].cookie, "the two move events share a cookie");

	/* A watch on the file itself. */
	int fwd = CHECK_OK(inotify_add_watch(ifd, path2, IN_MODIFY | IN_ATTRIB), "watch the file itself");
	CHECK(fwd != wd, "a different inode gets a different wd");
	fd = CHECK_OK(open(path2, O_WRONLY | O_APPEND), "open the file for writing");
	CHECK_EQ(write(fd, "!", 1), 1, "append to the file");
	n = next_events(ifd, evs, 16);
	CHECK_EQ(n, 2, "the file and its directory both report the write");
	int seen_file = 0, seen_dir = 0;
	for (int i = 0; i < n; i++) {
		if (evs[i].wd == fwd && evs[i].mask == IN_MODIFY && evs[i].name[0] == 0)
			seen_file = 1;
		if (evs[i].wd == wd && evs[i].mask == IN_MODIFY && strcmp(evs[i].name, "b") == 0)
			seen_dir = 1;
	}
	CHECK(seen_file, "the file's watch gets IN_MODIFY without a name");
	CHECK(seen_dir, "the directory's watch gets IN_MODIFY with the name");
	CHECK_OK(inotify_rm_watch(ifd, fwd), "inotify_rm_watch");
	n = next_events(ifd, evs, 16);
	int ignored = 0;
	for (int i = 0; i < n; i++)
		if (evs[i].wd == fwd && (evs[i].mask & IN_IGNORED))
			ignored = 1;
	CHECK(ignored, "rm_watch queues IN_IGNORED");
	CHECK_ERRNO(inotify_rm_watch(ifd, fwd), EINVAL, "removing a removed watch fails EINVAL");
	close(fd);
	next_events(ifd, evs, 16);

	CHECK_OK(unlink(path2), "unlink in the watched directory");
	n = next_events(ifd, evs, 16);
	CHECK_EQ(n, 1, "one event for unlink");
	CHECK_EQ(evs[0].mask, IN_DELETE, "IN_DELETE");
	CHECK_STREQ(evs[0].name, "b", "IN_DELETE names the entry");
	snprintf(path, sizeof path, "%s/sub", dir);
	CHECK_OK(mkdir(path, 0755), "mkdir in the watched directory");
	n = next_events(ifd, evs, 16);
	CHECK_EQ(n, 1, "one event for mkdir");
	CHECK_EQ(evs[0].mask, IN_CREATE | IN_ISDIR, "IN_CREATE|IN_ISDIR for a directory");
	CHECK_OK(rmdir(path), "rmdir");
	n = next_events(ifd, evs, 16);
	CHECK(n >= 1 && evs[0].mask == (IN_DELETE | IN_ISDIR), "IN_DELETE|IN_ISDIR for rmdir");

	CHECK_ERRNO(inotify_add_watch(ifd, "/tmp/conf-inotify-missing", IN_MODIFY), ENOENT, "watching a missing path fails ENOENT");
	CHECK_ERRNO(inotify_add_watch(ifd, "/proc/self/exe", IN_MODIFY | IN_ONLYDIR), ENOTDIR, "IN_ONLYDIR on a file fails ENOTDIR");
	CHECK_ERRNO(inotify_add_watch(ifd, dir, 0), EINVAL, "a mask without events fails EINVAL");
	int null = open("/dev/null", O_RDONLY);
	CHECK_ERRNO(inotify_add_watch(null, dir, IN_MODIFY), EINVAL, "inotify_add_watch on a non-inotify fd fails EINVAL");
	close(null);
	CHECK_OK(rmdir(dir), "remove the watched directory");
	close(ifd);
	return check_done();
}
