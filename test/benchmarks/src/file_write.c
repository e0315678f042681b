/* file_write: write 64 MiB to a new file in /tmp in 64 KiB chunks. */
#include "fileio.h"

static void op(long n) {
	for (long i = 0; i < n; i++)
		write_file();
}

int main(int argc, char **argv) {
	for (long i = 0; i < CHUNK; i++)
		chunk[i] = (char)i;
	int rc = bench_throughput("file_write", op, FILE_SIZE, argc, argv);
	unlink(file_path);
	return rc;
}
