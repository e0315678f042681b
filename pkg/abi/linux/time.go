package linux

// Timeval is struct timeval.
type Timeval struct {
	Sec  int64
	Usec int64
}

// Tms is struct tms, in clock ticks.
type Tms struct {
	Utime, Stime, CUtime, CStime int64
}

// Itimerval is struct itimerval.
type Itimerval struct {
	Interval Timeval
	Value    Timeval
}

// Clock ids.
const (
	CLOCK_REALTIME           = 0
	CLOCK_MONOTONIC          = 1
	CLOCK_PROCESS_CPUTIME_ID = 2
	CLOCK_THREAD_CPUTIME_ID  = 3
	CLOCK_MONOTONIC_RAW      = 4
	CLOCK_REALTIME_COARSE    = 5
	CLOCK_MONOTONIC_COARSE   = 6
	CLOCK_BOOTTIME           = 7
	CLOCK_REALTIME_ALARM     = 8
	CLOCK_BOOTTIME_ALARM     = 9
	CLOCK_TAI                = 11
)

// TIMER_ABSTIME is the clock_nanosleep flag for an absolute deadline.
const TIMER_ABSTIME = 1

// CLK_TCK is the clock tick rate of times(2), rusage and /proc (USER_HZ).
const CLK_TCK = 100

// Interval timers.
const (
	ITIMER_REAL    = 0
	ITIMER_VIRTUAL = 1
	ITIMER_PROF    = 2
)
