/* open_read_close: open, read and close a small file of the root filesystem. */
#include <fcntl.h>
#include <unistd.h>
#include "bench.h"

static const char *path = "/etc/passwd";

static void op(long n) {
	char buf[4096];
	for (long i = 0; i < n; i++) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			die("open");
		if (read(fd, buf, sizeof buf) <= 0)
			die("read");
		close(fd);
	}
}

int main(int argc, char **argv) { return bench_latency("open_read_close", op, argc, argv); }
