/* fileio.h: the file shared by the write and read throughput benchmarks:
 * 64 MiB in /tmp, moved in 64 KiB chunks. */
#ifndef FILEIO_H
#define FILEIO_H

#include <fcntl.h>
#include <unistd.h>
#include "bench.h"

#define FILE_SIZE (64L << 20)
#define CHUNK (64 << 10)

static const char *file_path = "/tmp/bench.dat";
static char chunk[CHUNK];

static inline void write_file(void) {
	int fd = open(file_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		die("open for writing");
	for (long done = 0; done < FILE_SIZE; done += CHUNK)
		if (write(fd, chunk, CHUNK) != CHUNK)
			die("write");
	if (close(fd) != 0)
		die("close");
}

static inline void read_file(void) {
	int fd = open(file_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die("open for reading");
	long done = 0;
	ssize_t got;
	while ((got = read(fd, chunk, CHUNK)) > 0)
		done += got;
	if (got < 0)
		die("read");
	if (done != FILE_SIZE)
		die("short file");
	close(fd);
}

#endif
