/* bench.h: the timing loop shared by the microbenchmarks.
 *
 * Each benchmark defines op(n), which performs its operation n times, and
 * calls bench_main. The loop doubles n (or extrapolates) until one timed run
 * of op(n) lasts at least the minimum time (argv[1] seconds, default 1), and
 * prints one line: "name value unit". */
#ifndef BENCH_H
#define BENCH_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static inline double bench_now(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline void die(const char *what) {
	perror(what);
	exit(1);
}

/* bench_seconds_per_op times op and returns the seconds one call takes. */
static inline double bench_seconds_per_op(void (*op)(long), double min_secs) {
	long n = 1;
	for (;;) {
		double start = bench_now();
		op(n);
		double took = bench_now() - start;
		if (took >= min_secs || n >= (1L << 40))
			return took / (double)n;
		long next = took > 0 ? (long)((double)n * min_secs * 1.2 / took) : n * 100;
		if (next > n * 100)
			next = n * 100;
		if (next <= n)
			next = n + 1;
		n = next;
	}
}

static inline double bench_min_secs(int argc, char **argv) {
	double s = argc > 1 ? atof(argv[1]) : 1.0;
	return s > 0 ? s : 1.0;
}

/* bench_latency prints the time per op in microseconds. */
static inline int bench_latency(const char *name, void (*op)(long), int argc, char **argv) {
	double s = bench_seconds_per_op(op, bench_min_secs(argc, argv));
	printf("%s %.3f us/op\n", name, s * 1e6);
	return 0;
}

/* bench_throughput prints MiB/s for an op that moves bytes_per_op bytes. */
static inline int bench_throughput(const char *name, void (*op)(long), double bytes_per_op, int argc, char **argv) {
	double s = bench_seconds_per_op(op, bench_min_secs(argc, argv));
	printf("%s %.1f MiB/s\n", name, bytes_per_op / s / (1024.0 * 1024.0));
	return 0;
}

#endif
