package linux

// Scheduling policies (sched_setscheduler).
const (
	SCHED_OTHER = 0
	SCHED_FIFO  = 1
	SCHED_RR    = 2
	SCHED_BATCH = 3
	SCHED_IDLE  = 5

	// SCHED_RESET_ON_FORK may be or'ed into a policy.
	SCHED_RESET_ON_FORK = 0x40000000
)
