package ptrace

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

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
// context. Every method runs on the thread's tracer, except reapExit.
// switchTo sets all registers, so code injected into a context thread
// between two Switches does not disturb the application.
type stub struct {
	pid  int // the thread's id, used for ptrace and wait4
	tgid int // the stub process's id
	// pidfd refers to the stub process even after its pid is reused; -1
	// if pidfd_open is unavailable or for threads other than the first.
	// Only release closes it, last.
	pidfd int
	img   *stubImage
	base  platform.Registers // registers at attach, a template for injections
	dead  error              // set once the stub has exited or ptrace failed
	// tracer is the tid of the OS thread tracing a context thread, set
	// under its addressSpace's mu once seized.
	tracer int

	// mu is held around every wait4 for the thread so that exactly one
	// goroutine collects its exit (the thread's id may be reused after).
	mu     sync.Mutex
	reaped bool // guarded by mu: wait4 has collected the thread's exit
}

// openPidfd sets s.pidfd; failure (an old kernel) is tolerated.
func (s *stub) openPidfd() {
	fd, err := unix.PidfdOpen(s.pid, 0)
	if err != nil {
		fd = -1
	}
	s.pidfd = fd
}

// signalKill sends SIGKILL through the pidfd. Any goroutine may call it.
func (s *stub) signalKill() {
	if s.pidfd >= 0 {
		unix.PidfdSendSignal(s.pidfd, unix.SIGKILL, nil, 0)
	}
}

// wait waits for the next stop of the stub. It returns an error when the
// stub has exited or cannot be waited for; the stub is then dead.
func (s *stub) wait() (unix.WaitStatus, error) {
	var ws unix.WaitStatus
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.reaped {
		return ws, s.fail(errStubGone)
	}
	for {
		_, err := unix.Wait4(s.pid, &ws, unix.WALL, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return ws, s.fail(fmt.Errorf("waiting for stub %d: %w", s.pid, err))
		}
		if ws.Exited() || ws.Signaled() {
			s.reaped = true
		}
		switch {
		case ws.Exited():
			return ws, s.fail(fmt.Errorf("stub %d exited with status %d", s.pid, ws.ExitStatus()))
		case ws.Signaled():
			return ws, s.fail(fmt.Errorf("stub %d killed by %v", s.pid, ws.Signal()))
		case ws.Stopped():
			return ws, nil
		}
	}
}

// fail records that the stub is unusable and returns err.
func (s *stub) fail(err error) error {
	if s.dead == nil {
		s.dead = err
	}
	return err
}

// check runs a ptrace call, marking the stub dead when it fails.
func (s *stub) check(what string, err error) error {
	if err != nil {
		return s.fail(fmt.Errorf("%s on stub %d: %w", what, s.pid, err))
	}
	return nil
}

// waitReady waits for the first stop after attach and records the
// register template.
func (s *stub) waitReady() error {
	if _, err := s.wait(); err != nil {
		return err
	}
	return s.check("PTRACE_GETREGS", unix.PtraceGetRegs(s.pid, &s.base))
}

// inject makes the stub execute one host syscall at rip and wait for the
// int3 that follows, reported with rip == trapRIP. It returns rax.
func (s *stub) inject(rip, trapRIP uintptr, nr uintptr, args ...uintptr) (uintptr, error) {
	if s.dead != nil {
		return 0, s.dead
	}
	r := s.base
	r.Rip = uint64(rip)
	r.Rax = uint64(nr)
	r.Orig_rax = ^uint64(0)
	dst := []*uint64{&r.Rdi, &r.Rsi, &r.Rdx, &r.R10, &r.R8, &r.R9}
	for i, a := range args {
		*dst[i] = uint64(a)
	}
	if err := s.check("PTRACE_SETREGS", unix.PtraceSetRegs(s.pid, &r)); err != nil {
		return 0, err
	}
	for {
		if err := s.check("PTRACE_CONT", unix.PtraceCont(s.pid, 0)); err != nil {
			return 0, err
		}
		ws, err := s.wait()
		if err != nil {
			return 0, err
		}
		switch istub.StopSignal(ws) {
		case unix.SIGTRAP:
			if err := s.check("PTRACE_GETREGS", unix.PtraceGetRegs(s.pid, &r)); err != nil {
				return 0, err
			}
			if uintptr(r.Rip) != trapRIP {
				return 0, s.fail(fmt.Errorf("stub %d trapped at %#x, want %#x", s.pid, r.Rip, trapRIP))
			}
			return uintptr(r.Rax), nil
		case unix.SIGSEGV, unix.SIGBUS, unix.SIGILL, unix.SIGFPE, unix.SIGSYS:
			if si, err := s.siginfo(); err == nil && si.Code > 0 {
				return 0, s.fail(fmt.Errorf("stub %d faulted with %v during syscall %d", s.pid, ws.StopSignal(), nr))
			}
		}
		// Anything else (interrupts, SIGSTOP, SIGCHLD, ...) is suppressed.
	}
}

// syscall injects a host syscall at the stub's "syscall; int3" pair and
// returns its result, converting -errno to an error.
func (s *stub) syscall(nr uintptr, args ...uintptr) (uintptr, error) {
	ret, err := s.inject(s.img.syscallAddr, s.img.trapAfterSyscall(), nr, args...)
	if err != nil {
		return 0, err
	}
	if e := int64(ret); e < 0 && e > -4096 {
		return 0, unix.Errno(-e)
	}
	return ret, nil
}

// siginfo is the header of the siginfo of the current signal-delivery-stop.
type siginfo struct {
	Signo int32
	Errno int32
	Code  int32
	_     int32
	Addr  uint64 // si_addr for SIGSEGV, SIGBUS, SIGILL, SIGFPE
	_     [104]byte
}

func (s *stub) siginfo() (siginfo, error) {
	var si siginfo
	err := istub.Ptrace(istub.PtraceGetsiginfo, s.pid, 0, uintptr(unsafe.Pointer(&si)))
	return si, s.check("PTRACE_GETSIGINFO", err)
}

// switchTo runs application code with regs until a syscall, fault,
// synchronous signal or interrupt. intr is the context's interrupt flag.
func (s *stub) switchTo(regs *platform.Registers, intr *atomic.Bool) (platform.Trap, error) {
	if s.dead != nil {
		return platform.Trap{}, s.dead
	}
	r := *regs
	// The host must never act on the syscall number of a previous stop (it
	// could restart it when rax holds -ERESTART*), and only 64-bit code runs.
	r.Orig_rax = ^uint64(0)
	r.Cs, r.Ss = userCS, userSS
	if err := s.check("PTRACE_SETREGS", unix.PtraceSetRegs(s.pid, &r)); err != nil {
		return platform.Trap{}, err
	}
	for {
		if err := s.check("PTRACE_SYSEMU", istub.Ptrace(ptraceSysemu, s.pid, 0, 0)); err != nil {
			return platform.Trap{}, err
		}
		ws, err := s.wait()
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
		if err := s.check("PTRACE_GETREGS", unix.PtraceGetRegs(s.pid, regs)); err != nil {
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
	si, err := s.siginfo()
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

// kill kills the stub process and reaps this thread, unless it is already
// reaped (its pid may then belong to another process).
func (s *stub) kill() {
	defer s.fail(errStubGone)
	s.mu.Lock()
	reaped := s.reaped
	s.mu.Unlock()
	if reaped || s.pid <= 0 {
		return
	}
	if s.pidfd >= 0 {
		s.signalKill()
	} else if err := unix.Kill(s.pid, unix.SIGKILL); err != nil {
		return
	}
	s.reapExit(true)
}

// reapExit waits for the exit of the thread, which must be dying (its
// process was sent SIGKILL), and collects it. Any goroutine may call it:
// wait4 from any thread of the sandbox sees the stubs every thread traces.
//
// Only the thread's tracer may block in wait4 (block): if the tracer is
// another thread, it may exit meanwhile (a context's tracer is the thread
// of a task goroutine), which detaches the dying thread without waking
// waiters, so a blocking wait4 would never return. Others poll: the thread
// then is either reaped or no longer ours (ECHILD).
func (s *stub) reapExit(block bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	opts := unix.WALL
	if !block {
		opts |= unix.WNOHANG
	}
	for polls := 0; !s.reaped; {
		var ws unix.WaitStatus
		wpid, err := unix.Wait4(s.pid, &ws, opts, nil)
		switch {
		case err == unix.EINTR:
		case err != nil || (wpid == s.pid && (ws.Exited() || ws.Signaled())):
			s.reaped = true
		case wpid == 0:
			// Dying takes the thread microseconds once it runs: let it
			// run, and sleep (a millisecond at least) only if it is slow.
			if polls++; polls < 1000 {
				unix.Syscall(unix.SYS_SCHED_YIELD, 0, 0, 0)
			} else {
				time.Sleep(time.Millisecond)
			}
		}
	}
}

// seize attaches the calling tracer to the thread and stops it with
// PTRACE_INTERRUPT, then records its registers.
func (s *stub) seize() error {
	s.mu.Lock()
	if s.reaped {
		s.mu.Unlock()
		return s.fail(errStubGone)
	}
	err := istub.Ptrace(istub.PtraceSeize, s.pid, 0, ptraceOptions)
	if err == nil {
		err = istub.Ptrace(istub.PtraceInterrupt, s.pid, 0, 0)
	}
	s.mu.Unlock()
	if err != nil {
		return s.fail(fmt.Errorf("attaching stub thread %d: %w", s.pid, err))
	}
	return s.waitReady()
}

// exitThread makes the thread run exit(0) (just this thread) and reaps it.
func (s *stub) exitThread() {
	if s.dead != nil {
		return
	}
	r := s.base
	r.Rip = uint64(s.img.syscallAddr)
	r.Rax = nrExit
	r.Rdi = 0
	r.Orig_rax = ^uint64(0)
	if s.check("PTRACE_SETREGS", unix.PtraceSetRegs(s.pid, &r)) != nil {
		return
	}
	for {
		if s.check("PTRACE_CONT", unix.PtraceCont(s.pid, 0)) != nil {
			return
		}
		if _, err := s.wait(); err != nil {
			return // exited (and reaped) or gone
		}
	}
}

// closePidfd closes the pidfd once the stub is gone.
func (s *stub) closePidfd() {
	if s.pidfd >= 0 {
		unix.Close(s.pidfd)
		s.pidfd = -1
	}
}
