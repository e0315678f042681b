/*
 * The sandbox's vDSO: clock_gettime, gettimeofday, time, clock_getres and
 * getcpu that read the clocks from the vvar page the sandbox kernel keeps
 * up to date, instead of trapping into the kernel on every call.
 *
 * The vvar page sits one page below the image. The kernel
 * publishes, under a sequence count, a TSC reading and the sandbox's
 * CLOCK_MONOTONIC at that reading, the conversion factor from TSC ticks to
 * nanoseconds and the offset of CLOCK_REALTIME from CLOCK_MONOTONIC. The
 * layout must match ../vvar.go.
 *
 * Anything not served from the page (other clocks, a disabled or stale
 * page, a timezone argument) is a real system call, which the sandbox
 * kernel serves; errors come back as -errno, as from the raw system call.
 *
 * Built by ../gen.go (go generate) with vdso.lds; no data, no relocations.
 */

typedef unsigned int u32;
typedef unsigned long u64;
typedef long s64;

struct vvar {
	u32 seq;       /* odd while the kernel updates the page */
	u32 enabled;   /* the fields below are valid */
	u64 tsc_base;  /* TSC reading the times are taken at */
	u64 mono_ns;   /* CLOCK_MONOTONIC at tsc_base, whole nanoseconds */
	u64 mono_frac; /* and its fraction, in 2^-32 ns */
	u64 mult;      /* nanoseconds per TSC tick, times 2^32 */
	u64 max_delta; /* ticks after tsc_base the values may be used for */
	s64 wall_off;  /* CLOCK_REALTIME - CLOCK_MONOTONIC, nanoseconds */
};

struct timespec64 {
	s64 tv_sec;
	s64 tv_nsec;
};

struct timeval64 {
	s64 tv_sec;
	s64 tv_usec;
};

#define NSEC_PER_SEC 1000000000L

#define SYS_gettimeofday 96
#define SYS_time 201
#define SYS_clock_gettime 228
#define SYS_clock_getres 229
#define SYS_getcpu 309

/* Clocks served from the page, as bit masks of clock ids. */
#define REALTIME_CLOCKS ((1u << 0) | (1u << 5))                        /* REALTIME, REALTIME_COARSE */
#define MONOTONIC_CLOCKS ((1u << 1) | (1u << 4) | (1u << 6) | (1u << 7)) /* MONOTONIC, _RAW, _COARSE, BOOTTIME */

#define READ_ONCE(x) (*(const volatile __typeof__(x) *)&(x))
#define barrier() __asm__ __volatile__("" ::: "memory")

/* The vvar page, one page below the image (defined by vdso.lds). */
extern const struct vvar vvar_page __attribute__((visibility("hidden")));

static inline long syscall2(long nr, long a, long b)
{
	long ret;
	__asm__ __volatile__("syscall" : "=a"(ret) : "a"(nr), "D"(a), "S"(b) : "rcx", "r11", "memory");
	return ret;
}

static inline long syscall3(long nr, long a, long b, long c)
{
	long ret;
	__asm__ __volatile__("syscall" : "=a"(ret) : "a"(nr), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
	return ret;
}

/* rdtsc_ordered reads the TSC after every earlier load has completed. */
static inline u64 rdtsc_ordered(void)
{
	u32 lo, hi;
	__asm__ __volatile__("lfence; rdtsc" : "=a"(lo), "=d"(hi) :: "memory");
	return ((u64)hi << 32) | lo;
}

/*
 * read_clocks sets *mono to CLOCK_MONOTONIC and *wall_off to the realtime
 * offset, both from one consistent snapshot of the page. It returns 0 when
 * the page cannot be used and the caller must make the system call.
 */
static int read_clocks(u64 *mono, s64 *wall_off)
{
	const struct vvar *v = &vvar_page;
	u64 base, frac, mult, max_delta, delta;
	u32 seq;

	for (;;) {
		seq = READ_ONCE(v->seq);
		if (seq & 1) {
			__asm__ __volatile__("pause");
			continue;
		}
		barrier();
		if (!READ_ONCE(v->enabled))
			return 0;
		base = READ_ONCE(v->mono_ns);
		frac = READ_ONCE(v->mono_frac);
		mult = READ_ONCE(v->mult);
		max_delta = READ_ONCE(v->max_delta);
		*wall_off = READ_ONCE(v->wall_off);
		delta = rdtsc_ordered() - READ_ONCE(v->tsc_base);
		barrier();
		if (READ_ONCE(v->seq) == seq)
			break;
	}
	if ((s64)delta < 0)
		delta = 0; /* a CPU whose TSC lags the kernel's by a little */
	if (delta > max_delta)
		return 0; /* the page is stale: the kernel stopped refreshing it */
	*mono = base + (u64)(((unsigned __int128)delta * mult + frac) >> 32);
	return 1;
}

/* clock_ns returns 1 with clock's time in *ns if the page serves it. */
static int clock_ns(int clock, u64 *ns)
{
	u64 mono;
	s64 off;
	u32 bit;

	if (clock < 0 || clock > 31)
		return 0;
	bit = 1u << clock;
	if (!((REALTIME_CLOCKS | MONOTONIC_CLOCKS) & bit) || !read_clocks(&mono, &off))
		return 0;
	*ns = (REALTIME_CLOCKS & bit) ? mono + (u64)off : mono;
	return 1;
}

int __vdso_clock_gettime(int clock, struct timespec64 *ts)
{
	u64 ns;

	if (!clock_ns(clock, &ns))
		return syscall2(SYS_clock_gettime, clock, (long)ts);
	ts->tv_sec = ns / NSEC_PER_SEC;
	ts->tv_nsec = ns % NSEC_PER_SEC;
	return 0;
}

int __vdso_gettimeofday(struct timeval64 *tv, void *tz)
{
	u64 ns;

	if (tz != 0 || !clock_ns(0, &ns))
		return syscall2(SYS_gettimeofday, (long)tv, (long)tz);
	if (tv) {
		tv->tv_sec = ns / NSEC_PER_SEC;
		tv->tv_usec = ns % NSEC_PER_SEC / 1000;
	}
	return 0;
}

s64 __vdso_time(s64 *t)
{
	u64 ns;
	s64 sec;

	if (!clock_ns(0, &ns))
		return syscall2(SYS_time, (long)t, 0);
	sec = ns / NSEC_PER_SEC;
	if (t)
		*t = sec;
	return sec;
}

/* The clocks served from the page have the kernel's resolution: 1 ns. */
int __vdso_clock_getres(int clock, struct timespec64 *res)
{
	if (clock < 0 || clock > 31 || !((REALTIME_CLOCKS | MONOTONIC_CLOCKS) & (1u << clock)))
		return syscall2(SYS_clock_getres, clock, (long)res);
	if (res) {
		res->tv_sec = 0;
		res->tv_nsec = 1;
	}
	return 0;
}

/* The sandbox kernel decides which CPU a task reports: ask it. */
int __vdso_getcpu(unsigned *cpu, unsigned *node, void *unused)
{
	return syscall3(SYS_getcpu, (long)cpu, (long)node, (long)unused);
}

int clock_gettime(int, struct timespec64 *) __attribute__((weak, alias("__vdso_clock_gettime")));
int gettimeofday(struct timeval64 *, void *) __attribute__((weak, alias("__vdso_gettimeofday")));
s64 time(s64 *) __attribute__((weak, alias("__vdso_time")));
int clock_getres(int, struct timespec64 *) __attribute__((weak, alias("__vdso_clock_getres")));
int getcpu(unsigned *, unsigned *, void *) __attribute__((weak, alias("__vdso_getcpu")));
