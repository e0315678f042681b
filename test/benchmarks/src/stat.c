/* stat: stat a file of the root filesystem. */
#include <sys/stat.h>
#include "bench.h"

static void op(long n) {
	struct stat st;
	for (long i = 0; i < n; i++)
		if (stat("/etc/passwd", &st) != 0)
			die("stat");
}

int main(int argc, char **argv) { return bench_latency("stat", op, argc, argv); }
