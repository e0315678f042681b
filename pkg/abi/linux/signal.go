package linux

// Signal numbers (x86-64).
const (
	SIGHUP    = 1
	SIGINT    = 2
	SIGQUIT   = 3
	SIGILL    = 4
	SIGTRAP   = 5
	SIGABRT   = 6
	SIGBUS    = 7
	SIGFPE    = 8
	SIGKILL   = 9
	SIGUSR1   = 10
	SIGSEGV   = 11
	SIGUSR2   = 12
	SIGPIPE   = 13
	SIGALRM   = 14
	SIGTERM   = 15
	SIGSTKFLT = 16
	SIGCHLD   = 17
	SIGCONT   = 18
	SIGSTOP   = 19
	SIGTSTP   = 20
	SIGTTIN   = 21
	SIGTTOU   = 22
	SIGURG    = 23
	SIGXCPU   = 24
	SIGXFSZ   = 25
	SIGVTALRM = 26
	SIGPROF   = 27
	SIGWINCH  = 28
	SIGIO     = 29
	SIGPWR    = 30
	SIGSYS    = 31
	SIGRTMIN  = 32
	SIGRTMAX  = 64

	// NumSignals is the highest signal number.
	NumSignals = 64
)

// SignalNames maps standard signal numbers to their names.
var SignalNames = map[int]string{
	SIGHUP: "SIGHUP", SIGINT: "SIGINT", SIGQUIT: "SIGQUIT", SIGILL: "SIGILL",
	SIGTRAP: "SIGTRAP", SIGABRT: "SIGABRT", SIGBUS: "SIGBUS", SIGFPE: "SIGFPE",
	SIGKILL: "SIGKILL", SIGUSR1: "SIGUSR1", SIGSEGV: "SIGSEGV", SIGUSR2: "SIGUSR2",
	SIGPIPE: "SIGPIPE", SIGALRM: "SIGALRM", SIGTERM: "SIGTERM", SIGSTKFLT: "SIGSTKFLT",
	SIGCHLD: "SIGCHLD", SIGCONT: "SIGCONT", SIGSTOP: "SIGSTOP", SIGTSTP: "SIGTSTP",
	SIGTTIN: "SIGTTIN", SIGTTOU: "SIGTTOU", SIGURG: "SIGURG", SIGXCPU: "SIGXCPU",
	SIGXFSZ: "SIGXFSZ", SIGVTALRM: "SIGVTALRM", SIGPROF: "SIGPROF", SIGWINCH: "SIGWINCH",
	SIGIO: "SIGIO", SIGPWR: "SIGPWR", SIGSYS: "SIGSYS",
}

// SignalSet is a kernel sigset_t: bit n-1 stands for signal n.
type SignalSet uint64

// Special handler values of struct sigaction.
const (
	SIG_DFL = 0
	SIG_IGN = 1
)

// sigaction flags.
const (
	SA_NOCLDSTOP = 0x1
	SA_NOCLDWAIT = 0x2
	SA_SIGINFO   = 0x4
	SA_RESTORER  = 0x04000000
	SA_ONSTACK   = 0x08000000
	SA_RESTART   = 0x10000000
	SA_NODEFER   = 0x40000000
	SA_RESETHAND = 0x80000000
)

// rt_sigprocmask how values.
const (
	SIG_BLOCK   = 0
	SIG_UNBLOCK = 1
	SIG_SETMASK = 2
)

// SigAction is the kernel's struct sigaction for rt_sigaction on x86-64
// (32 bytes).
type SigAction struct {
	Handler  uint64
	Flags    uint64
	Restorer uint64
	Mask     SignalSet
}

// SignalStack is stack_t (24 bytes).
type SignalStack struct {
	Addr  uint64
	Flags int32
	_     int32
	Size  uint64
}

// sigaltstack flags and sizes.
const (
	SS_ONSTACK    = 1
	SS_DISABLE    = 2
	SS_AUTODISARM = -1 << 31 // 1<<31 as the int32 ss_flags
	MINSIGSTKSZ   = 2048
)

// si_code values.
const (
	SI_USER     = 0
	SI_KERNEL   = 0x80
	SI_QUEUE    = -1
	SI_TIMER    = -2
	SI_TKILL    = -6
	SEGV_MAPERR = 1
	SEGV_ACCERR = 2

	CLD_EXITED    = 1
	CLD_KILLED    = 2
	CLD_DUMPED    = 3
	CLD_TRAPPED   = 4
	CLD_STOPPED   = 5
	CLD_CONTINUED = 6
)

// SignalInfo is siginfo_t (128 bytes). The union after the first three
// fields is kept as raw bytes; the offsets below name its members.
type SignalInfo struct {
	Signo int32
	Errno int32
	Code  int32
	_     int32
	Data  [112]byte
}

// Offsets into SignalInfo.Data of the union members used by the kernel.
const (
	SigInfoPidOff    = 0  // si_pid (int32)
	SigInfoUIDOff    = 4  // si_uid (uint32)
	SigInfoStatusOff = 8  // si_status (int32), SIGCHLD
	SigInfoValueOff  = 8  // si_value (8 bytes), rt signals and timers
	SigInfoUtimeOff  = 16 // si_utime (int64 clock ticks), SIGCHLD
	SigInfoStimeOff  = 24 // si_stime (int64 clock ticks), SIGCHLD
	SigInfoAddrOff   = 0  // si_addr (uint64), SIGSEGV/SIGBUS/SIGILL/SIGFPE
	SigInfoBandOff   = 0  // si_band (int64), SIGIO/SIGPOLL
	SigInfoFDOff     = 8  // si_fd (int32), SIGIO/SIGPOLL
)

// si_code values of SIGIO/SIGPOLL (signal-driven I/O).
const (
	POLL_IN  = 1
	POLL_OUT = 2
	POLL_MSG = 3
	POLL_ERR = 4
	POLL_PRI = 5
	POLL_HUP = 6
)

// SigContext is struct sigcontext on x86-64 (256 bytes), the uc_mcontext of
// a signal frame.
type SigContext struct {
	R8, R9, R10, R11, R12, R13, R14, R15 uint64
	Rdi, Rsi, Rbp, Rbx, Rdx, Rax, Rcx    uint64
	Rsp, Rip, Eflags                     uint64
	Cs, Gs, Fs, Ss                       uint16
	Err, Trapno, Oldmask, Cr2            uint64
	Fpstate                              uint64
	_                                    [8]uint64
}

// UContext is the kernel's struct ucontext on x86-64 (304 bytes).
type UContext struct {
	Flags    uint64
	Link     uint64
	Stack    SignalStack
	MContext SigContext
	Sigmask  SignalSet
}

// RtSigFrame is struct rt_sigframe on x86-64 (440 bytes): the handler's
// return address (sa_restorer), the ucontext and the siginfo.
type RtSigFrame struct {
	Pretcode uint64
	UC       UContext
	Info     SignalInfo
}

// uc_flags bits.
const (
	UC_SIGCONTEXT_SS     = 0x2
	UC_STRICT_RESTORE_SS = 0x4
)
