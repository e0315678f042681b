/* mmap_touch: map 1 MiB of anonymous memory, write every page, unmap it. */
#include <sys/mman.h>
#include "bench.h"

#define SIZE (1 << 20)
#define PAGE 4096

static void op(long n) {
	for (long i = 0; i < n; i++) {
		char *p = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			die("mmap");
		for (long off = 0; off < SIZE; off += PAGE)
			p[off] = 1;
		if (munmap(p, SIZE) != 0)
			die("munmap");
	}
}

int main(int argc, char **argv) { return bench_latency("mmap_touch_1MiB", op, argc, argv); }
