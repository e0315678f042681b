package ptrace

import (
	"sync/atomic"

	"golang.org/x/sys/unix"

	"bulwark.dev/pkg/platform"
	istub "bulwark.dev/pkg/platform/internal/stub"
)

// ptrace requests and options missing from x/sys/unix or named here for
// clarity.
const (
	ptraceSysemu   = 31
	ptraceOptions  = unix.PTRACE_O_EXITKILL | unix.PTRACE_O_TRACESYSGOOD
	syscallStopSig = unix.SIGTRAP | 0x80 // a syscall stop with TRACESYSGOOD
	// interruptSignal is sent with tgkill by Context.Interrupt. The stub
	// never sees it: the tracer recognises the stop and suppresses it.
	interruptSignal = unix.SIGUSR2
	userCS          = 0x33
	userSS          = 0x2b
)

// stub is one thread of a stub process: the process's first thread (which
// serves injections for its address space) or a thread created for one
// context. Every method runs on the thread's tracer, except ReapExit.
// switchTo sets all registers, so code injected into a context thread
// between two Switches does not disturb the application.
type stub struct {
	*istub.Thread
	img *stubImage
	// tracer is the tid of the OS thread tracing a context thread, set
	// under its addressSpace's mu once seized.
	tracer int
}

// newStub returns thread pid of stub process tgid.
func newStub(img *stubImage, pid, tgid int) *stub {
	return &stub{Thread: istub.NewThread(pid, tgid, img.syscallAddr, errStubGone), img: img}
}

// pinTo makes the stopped context thread run on cpu only, with an injected
// sched_setaffinity (the sandbox itself never sets affinities).
func (s *stub) pinTo(cpu int) error {
	_, err := s.Syscall(unix.SYS_SCHED_SETAFFINITY, 0, istub.PinMaskSize, istub.PinMaskAddr(cpu))
	return err
}

// switchTo runs application code with regs until a syscall, fault,
// synchronous signal or interrupt. intr is the context's interrupt flag.
func (s *stub) switchTo(regs *platform.Registers, intr *atomic.Bool) (platform.Trap, error) {
	if s.Dead != nil {
		return platform.Trap{}, s.Dead
	}
	r := *regs
	// The host must never act on the syscall number of a previous stop (it
	// could restart it when rax holds -ERESTART*), and only 64-bit code runs.
	r.Orig_rax = ^uint64(0)
	r.Cs, r.Ss = userCS, userSS
	if err := s.Check("PTRACE_SETREGS", unix.PtraceSetRegs(s.PID, &r)); err != nil {
		return platform.Trap{}, err
	}
	for {
		if err := s.Check("PTRACE_SYSEMU", istub.Ptrace(ptraceSysemu, s.PID, 0, 0)); err != nil {
			return platform.Trap{}, err
		}
		ws, err := s.Wait()
		if err != nil {
			return platform.Trap{}, err
		}
		trap, stopped, err := s.classify(ws, intr)
		if err != nil {
			return platform.Trap{}, err
		}
		if !stopped {
			continue // suppressed: resume the application
		}
		if err := s.Check("PTRACE_GETREGS", unix.PtraceGetRegs(s.PID, regs)); err != nil {
			return platform.Trap{}, err
		}
		return trap, nil
	}
}

// syncSignals are the signals an instruction raises by itself; the
// platform reports them when their si_code says the kernel sent them.
var syncSignals = map[unix.Signal]platform.TrapKind{
	unix.SIGSEGV: platform.TrapFault,
	unix.SIGBUS:  platform.TrapFault,
	unix.SIGILL:  platform.TrapSignal,
	unix.SIGFPE:  platform.TrapSignal,
	unix.SIGTRAP: platform.TrapSignal,
	unix.SIGSYS:  platform.TrapSignal,
}

// classify turns a stop into a trap; stopped is false when the stop is to
// be suppressed and the application resumed.
func (s *stub) classify(ws unix.WaitStatus, intr *atomic.Bool) (platform.Trap, bool, error) {
	if ws.StopSignal() == syscallStopSig {
		return platform.Trap{Kind: platform.TrapSyscall}, true, nil
	}
	sig := istub.StopSignal(ws)
	if sig == interruptSignal && intr.Swap(false) {
		return platform.Trap{Kind: platform.TrapInterrupted}, true, nil
	}
	kind, ok := syncSignals[sig]
	if !ok {
		return platform.Trap{}, false, nil
	}
	si, err := s.Siginfo()
	if err != nil {
		return platform.Trap{}, false, err
	}
	if si.Code <= 0 { // sent by kill/tgkill/sigqueue, not by the CPU
		return platform.Trap{}, false, nil
	}
	t := platform.Trap{Kind: kind, Signo: int(sig), Code: int(si.Code)}
	if kind == platform.TrapFault {
		t.Addr = uintptr(si.Addr)
	}
	return t, true, nil
}

// seize attaches the calling tracer to the thread and stops it with
// PTRACE_INTERRUPT, then records its registers.
func (s *stub) seize() error {
	if err := s.Seize(ptraceOptions, true); err != nil {
		return err
	}
	return s.WaitReady()
}

// exitThread makes the thread run exit(0) (just this thread) and reaps it.
func (s *stub) exitThread() {
	if s.Dead != nil {
		return
	}
	r := s.Base
	r.Rip = uint64(s.img.syscallAddr)
	r.Rax = nrExit
	r.Rdi = 0
	r.Orig_rax = ^uint64(0)
	if s.Check("PTRACE_SETREGS", unix.PtraceSetRegs(s.PID, &r)) != nil {
		return
	}
	for {
		if s.Check("PTRACE_CONT", unix.PtraceCont(s.PID, 0)) != nil {
			return
		}
		if _, err := s.Wait(); err != nil {
			return // exited (and reaped) or gone
		}
	}
}
