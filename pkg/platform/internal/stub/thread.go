package stub

import (
	"fmt"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Thread is one traced thread of a stub process: the first thread of a
// stub (which runs the host syscalls that change its address space, by
// injection) or, in the ptrace platform, a thread that runs application
// code. Its methods run on its tracer (the OS thread that attached to it),
// except SignalKill and ReapExit.
type Thread struct {
	PID  int // the thread's id, used for ptrace and wait4
	TGID int // the stub process's id
	// Pidfd refers to the stub process even after its pid is reused; -1
	// if pidfd_open is unavailable or for threads other than the first.
	Pidfd int
	Base  unix.PtraceRegs // registers at attach, a template for injections
	Dead  error           // set once the thread has exited or ptrace failed

	syscallAddr uintptr // a "syscall; int3" pair in the stub
	gone        error   // the platform's error for a stub that is gone

	// mu is held around every wait4 for the thread so that exactly one
	// goroutine collects its exit (the thread's id may be reused after).
	mu     sync.Mutex
	reaped bool // mu: wait4 has collected the thread's exit
}

// NewThread returns the thread pid of stub process tgid, whose image has a
// "syscall; int3" pair at syscallAddr. gone is the error for requests to
// a thread that has exited.
func NewThread(pid, tgid int, syscallAddr uintptr, gone error) *Thread {
	return &Thread{PID: pid, TGID: tgid, Pidfd: -1, syscallAddr: syscallAddr, gone: gone}
}

// OpenPidfd sets Pidfd; failure (an old kernel) is tolerated.
func (t *Thread) OpenPidfd() {
	fd, err := unix.PidfdOpen(t.PID, 0)
	if err != nil {
		fd = -1
	}
	t.Pidfd = fd
}

// SignalKill sends SIGKILL through the pidfd. Any goroutine may call it.
func (t *Thread) SignalKill() {
	if t.Pidfd >= 0 {
		unix.PidfdSendSignal(t.Pidfd, unix.SIGKILL, nil, 0)
	}
}

// ClosePidfd closes the pidfd once the stub is gone.
func (t *Thread) ClosePidfd() {
	if t.Pidfd >= 0 {
		unix.Close(t.Pidfd)
		t.Pidfd = -1
	}
}

// Fail records that the thread is unusable and returns err.
func (t *Thread) Fail(err error) error {
	if t.Dead == nil {
		t.Dead = err
	}
	return err
}

// Check passes on the result of a ptrace call, marking the thread dead
// when it failed.
func (t *Thread) Check(what string, err error) error {
	if err != nil {
		return t.Fail(fmt.Errorf("%s on stub %d: %w", what, t.PID, err))
	}
	return nil
}

// Wait waits for the next stop of the thread. It returns an error when the
// thread has exited or cannot be waited for; it is then dead.
func (t *Thread) Wait() (unix.WaitStatus, error) {
	var ws unix.WaitStatus
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.reaped {
		return ws, t.Fail(t.gone)
	}
	for {
		_, err := unix.Wait4(t.PID, &ws, unix.WALL, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return ws, t.Fail(fmt.Errorf("waiting for stub %d: %w", t.PID, err))
		}
		switch {
		case ws.Exited():
			t.reaped = true
			return ws, t.Fail(fmt.Errorf("stub %d exited with status %d", t.PID, ws.ExitStatus()))
		case ws.Signaled():
			t.reaped = true
			return ws, t.Fail(fmt.Errorf("stub %d killed by %v", t.PID, ws.Signal()))
		case ws.Stopped():
			return ws, nil
		}
	}
}

// Seize attaches the calling thread to t as its tracer, with options, and
// if interrupt stops it with PTRACE_INTERRUPT. The caller then waits for
// the stop (WaitReady).
func (t *Thread) Seize(options int, interrupt bool) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.reaped {
		return t.Fail(t.gone)
	}
	err := Ptrace(PtraceSeize, t.PID, 0, uintptr(options))
	if err == nil && interrupt {
		err = Ptrace(PtraceInterrupt, t.PID, 0, 0)
	}
	if err != nil {
		return t.Fail(fmt.Errorf("attaching stub thread %d: %w", t.PID, err))
	}
	return nil
}

// WaitReady waits for the first stop after attach and records Base.
func (t *Thread) WaitReady() error {
	if _, err := t.Wait(); err != nil {
		return err
	}
	return t.Check("PTRACE_GETREGS", unix.PtraceGetRegs(t.PID, &t.Base))
}

// Inject makes the thread execute one host syscall nr at rip, with rbx set
// (stub code may use it) and the other registers from Base, and wait for
// the int3 that follows, reported with rip == trapRIP. It returns rax.
func (t *Thread) Inject(rip, trapRIP, rbx, nr uintptr, args ...uintptr) (uintptr, error) {
	if t.Dead != nil {
		return 0, t.Dead
	}
	r := t.Base
	r.Rip, r.Rax, r.Rbx, r.Orig_rax = uint64(rip), uint64(nr), uint64(rbx), ^uint64(0)
	dst := []*uint64{&r.Rdi, &r.Rsi, &r.Rdx, &r.R10, &r.R8, &r.R9}
	for i, a := range args {
		*dst[i] = uint64(a)
	}
	if err := t.Check("PTRACE_SETREGS", unix.PtraceSetRegs(t.PID, &r)); err != nil {
		return 0, err
	}
	for {
		if err := t.Check("PTRACE_CONT", unix.PtraceCont(t.PID, 0)); err != nil {
			return 0, err
		}
		ws, err := t.Wait()
		if err != nil {
			return 0, err
		}
		switch StopSignal(ws) {
		case unix.SIGTRAP:
			if err := t.Check("PTRACE_GETREGS", unix.PtraceGetRegs(t.PID, &r)); err != nil {
				return 0, err
			}
			if uintptr(r.Rip) != trapRIP {
				return 0, t.Fail(fmt.Errorf("stub %d trapped at %#x, want %#x", t.PID, r.Rip, trapRIP))
			}
			return uintptr(r.Rax), nil
		case unix.SIGSEGV, unix.SIGBUS, unix.SIGILL, unix.SIGFPE, unix.SIGSYS:
			if si, err := t.Siginfo(); err == nil && si.Code > 0 {
				return 0, t.Fail(fmt.Errorf("stub %d faulted with %v during syscall %d", t.PID, ws.StopSignal(), nr))
			}
		}
		// Anything else (interrupts, SIGSTOP, SIGCHLD, ...) is suppressed.
	}
}

// Syscall injects a host syscall at the stub's "syscall; int3" pair and
// returns its result, converting -errno to an error.
func (t *Thread) Syscall(nr uintptr, args ...uintptr) (uintptr, error) {
	ret, err := t.Inject(t.syscallAddr, t.syscallAddr+3, 0, nr, args...)
	if err != nil {
		return 0, err
	}
	if e := int64(ret); e < 0 && e > -4096 {
		return 0, unix.Errno(-e)
	}
	return ret, nil
}

// Siginfo is the header of a siginfo_t.
type Siginfo struct {
	Signo int32
	Errno int32
	Code  int32
	_     int32
	Addr  uint64 // si_addr for SIGSEGV, SIGBUS, SIGILL, SIGFPE
	_     [104]byte
}

// Siginfo returns the siginfo of the current signal-delivery-stop.
func (t *Thread) Siginfo() (Siginfo, error) {
	var si Siginfo
	err := Ptrace(PtraceGetsiginfo, t.PID, 0, uintptr(unsafe.Pointer(&si)))
	return si, t.Check("PTRACE_GETSIGINFO", err)
}

// Kill kills the stub process and reaps this thread, unless it is already
// reaped (its pid may then belong to another process).
func (t *Thread) Kill() {
	defer t.Fail(t.gone)
	t.mu.Lock()
	reaped := t.reaped
	t.mu.Unlock()
	if reaped || t.PID <= 0 {
		return
	}
	if t.Pidfd >= 0 {
		t.SignalKill()
	} else if err := unix.Kill(t.PID, unix.SIGKILL); err != nil {
		return
	}
	t.ReapExit(true)
}

// ReapExitIdle collects the exit of the thread, which must be dying, like
// ReapExit(false) but sleeping between polls instead of yielding: for
// reaping in the background, where latency does not matter but CPU does.
// Any goroutine may call it.
func (t *Thread) ReapExitIdle() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for pause := 20 * time.Microsecond; !t.reaped; pause = min(2*pause, 5*time.Millisecond) {
		var ws unix.WaitStatus
		wpid, err := unix.Wait4(t.PID, &ws, unix.WALL|unix.WNOHANG, nil)
		switch {
		case err == unix.EINTR:
		case err != nil || (wpid == t.PID && (ws.Exited() || ws.Signaled())):
			t.reaped = true
		default:
			time.Sleep(pause)
		}
	}
}

// ReapExit waits for the exit of the thread, which must be dying (its
// process was sent SIGKILL), and collects it. Any goroutine may call it:
// wait4 from any thread of the sandbox sees the stubs every thread traces.
//
// Only the thread's tracer may block in wait4 (block): if the tracer is
// another thread, it may exit meanwhile (a context's tracer is the thread
// of a task goroutine), which detaches the dying thread without waking
// waiters, so a blocking wait4 would never return. Others poll: the thread
// then is either reaped or no longer ours (ECHILD).
func (t *Thread) ReapExit(block bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	opts := unix.WALL
	if !block {
		opts |= unix.WNOHANG
	}
	for polls := 0; !t.reaped; {
		var ws unix.WaitStatus
		wpid, err := unix.Wait4(t.PID, &ws, opts, nil)
		switch {
		case err == unix.EINTR:
		case err != nil || (wpid == t.PID && (ws.Exited() || ws.Signaled())):
			t.reaped = true
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
