/* file_read: read a 64 MiB file in /tmp in 64 KiB chunks. */
#include "fileio.h"

static void op(long n) {
	for (long i = 0; i < n; i++)
		read_file();
}

int main(int argc, char **argv) {
	write_file();
	int rc = bench_throughput("file_read", op, FILE_SIZE, argc, argv);
	unlink(file_path);
	return rc;
}
