package linux

// wait4/waitid options.
const (
	WNOHANG    = 0x1
	WUNTRACED  = 0x2
	WSTOPPED   = WUNTRACED
	WEXITED    = 0x4
	WCONTINUED = 0x8
	WNOWAIT    = 0x01000000
	WNOTHREAD  = 0x20000000 // __WNOTHREAD
	WALL       = 0x40000000 // __WALL
	WCLONE     = 0x80000000 // __WCLONE
)

// waitid idtype values.
const (
	P_ALL   = 0
	P_PID   = 1
	P_PGID  = 2
	P_PIDFD = 3
)

// Rusage is struct rusage (144 bytes).
type Rusage struct {
	Utime    Timeval
	Stime    Timeval
	MaxRSS   int64
	IxRSS    int64
	IdRSS    int64
	IsRSS    int64
	MinFlt   int64
	MajFlt   int64
	NSwap    int64
	InBlock  int64
	OuBlock  int64
	MsgSnd   int64
	MsgRcv   int64
	NSignals int64
	NVCSw    int64
	NIvCSw   int64
}

// getrusage who values.
const (
	RUSAGE_SELF     = 0
	RUSAGE_CHILDREN = -1
	RUSAGE_THREAD   = 1
)
