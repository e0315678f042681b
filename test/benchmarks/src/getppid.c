/* getppid: the round trip of the cheapest system call. */
#include <sys/syscall.h>
#include <unistd.h>
#include "bench.h"

static void op(long n) {
	for (long i = 0; i < n; i++)
		syscall(SYS_getppid);
}

int main(int argc, char **argv) { return bench_latency("getppid", op, argc, argv); }
