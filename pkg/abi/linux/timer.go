package linux

// POSIX timers, timerfd and signalfd.

// Itimerspec is struct itimerspec.
type Itimerspec struct {
	Interval Timespec
	Value    Timespec
}

// SigEvent is struct sigevent on x86-64 (64 bytes): what a timer does when
// it expires.
type SigEvent struct {
	Value  uint64 // sigev_value
	Signo  int32
	Notify int32
	TID    int32 // sigev_notify_thread_id (SIGEV_THREAD_ID)
	_      [44]byte
}

// sigev_notify values.
const (
	SIGEV_SIGNAL    = 0
	SIGEV_NONE      = 1
	SIGEV_THREAD    = 2
	SIGEV_THREAD_ID = 4
)

// Offsets into SignalInfo.Data of the timer members of siginfo_t.
const (
	SigInfoTimerIDOff = 0 // si_tid (int32), the POSIX timer id
	SigInfoOverrunOff = 4 // si_overrun (int32)
)

// DELAYTIMER_MAX caps a timer's overrun count.
const DELAYTIMER_MAX = 1<<31 - 1

// timerfd_create and timerfd_settime flags.
const (
	TFD_TIMER_ABSTIME       = 1
	TFD_TIMER_CANCEL_ON_SET = 2
	TFD_NONBLOCK            = O_NONBLOCK
	TFD_CLOEXEC             = O_CLOEXEC
)

// signalfd4 flags.
const (
	SFD_NONBLOCK = O_NONBLOCK
	SFD_CLOEXEC  = O_CLOEXEC
)

// SignalfdSiginfo is struct signalfd_siginfo (128 bytes), one record read
// from a signalfd.
type SignalfdSiginfo struct {
	Signo    uint32
	Errno    int32
	Code     int32
	PID      uint32
	UID      uint32
	FD       int32
	TID      uint32
	Band     uint32
	Overrun  uint32
	Trapno   uint32
	Status   int32
	Int      int32
	Ptr      uint64
	Utime    uint64
	Stime    uint64
	Addr     uint64
	AddrLSB  uint16
	_        uint16
	Syscall  int32
	CallAddr uint64
	Arch     uint32
	_        [28]byte
}
