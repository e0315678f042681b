package systrap

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"

	"bulwark.dev/pkg/platform"
	istub "bulwark.dev/pkg/platform/internal/stub"
)

// The first thread of every stub process (and the master stub) never runs
// application code and has no seccomp filter: the sandbox makes it run the
// host syscalls that change the address space (fork, clone, mmap, munmap,
// mprotect) by ptrace injection, as pkg/platform/ptrace does. The tracer
// thread and raw ptrace helpers are shared (package stub); the stub type
// differs from ptrace's (no lock, rbx in injections), so it stays here.

// errStubGone is returned for requests to a stub that has died.
var errStubGone = errors.New("systrap: stub process is gone")

const (
	ptraceOptions = unix.PTRACE_O_EXITKILL
)

// tracer is the locked OS thread that runs every ptrace and wait call for
// one stub's first thread (or the master).
type tracer = istub.Tracer

// startTracer starts a tracer thread and runs init on it first.
func startTracer(init func() error) (*tracer, error) {
	return istub.StartTracer(init, errStubGone)
}

// stub is the first thread of a stub process. Its methods run on its
// tracer, except signalKill.
type stub struct {
	pid    int
	pidfd  int // -1 if pidfd_open is unavailable
	img    *stubImage
	base   platform.Registers // registers at attach, a template for injections
	dead   error
	reaped bool
}

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

func (s *stub) closePidfd() {
	if s.pidfd >= 0 {
		unix.Close(s.pidfd)
		s.pidfd = -1
	}
}

func (s *stub) fail(err error) error {
	if s.dead == nil {
		s.dead = err
	}
	return err
}

func (s *stub) check(what string, err error) error {
	if err != nil {
		return s.fail(fmt.Errorf("%s on stub %d: %w", what, s.pid, err))
	}
	return nil
}

// wait waits for the next stop of the stub; an exit is an error.
func (s *stub) wait() (unix.WaitStatus, error) {
	var ws unix.WaitStatus
	if s.reaped {
		return ws, s.fail(errStubGone)
	}
	for {
		_, err := unix.Wait4(s.pid, &ws, unix.WALL, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			s.reaped = true
			return ws, s.fail(fmt.Errorf("waiting for stub %d: %w", s.pid, err))
		}
		switch {
		case ws.Exited(), ws.Signaled():
			s.reaped = true
			return ws, s.fail(fmt.Errorf("stub %d exited (status %#x)", s.pid, uint32(ws)))
		case ws.Stopped():
			return ws, nil
		}
	}
}

// waitReady waits for the first stop after attach and records the
// register template.
func (s *stub) waitReady() error {
	if _, err := s.wait(); err != nil {
		return err
	}
	return s.check("PTRACE_GETREGS", unix.PtraceGetRegs(s.pid, &s.base))
}

// inject makes the stub execute one host syscall at rip, with rbx set (the
// slot of a new thread), and wait for the int3 that follows, reported
// with rip == trapRIP. It returns rax.
func (s *stub) inject(rip, trapRIP, rbx uintptr, nr uintptr, args ...uintptr) (uintptr, error) {
	if s.dead != nil {
		return 0, s.dead
	}
	r := s.base
	r.Rip, r.Rax, r.Rbx, r.Orig_rax = uint64(rip), uint64(nr), uint64(rbx), ^uint64(0)
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
			var si [128]byte
			if istub.Ptrace(istub.PtraceGetsiginfo, s.pid, 0, uintptr(unsafe.Pointer(&si[0]))) == nil && int32(binary.LittleEndian.Uint32(si[siCode:])) > 0 {
				return 0, s.fail(fmt.Errorf("stub %d faulted with %v during syscall %d", s.pid, ws.StopSignal(), nr))
			}
		}
		// Anything else (SIGSTOP, SIGCHLD, ...) is suppressed.
	}
}

// syscall injects a host syscall at the "syscall; int3" pair and returns
// its result, converting -errno to an error.
func (s *stub) syscall(nr uintptr, args ...uintptr) (uintptr, error) {
	ret, err := s.inject(s.img.syscallAddr, s.img.trapAfterSyscall(), 0, nr, args...)
	if err != nil {
		return 0, err
	}
	if e := int64(ret); e < 0 && e > -4096 {
		return 0, unix.Errno(-e)
	}
	return ret, nil
}

// kill kills the stub process and reaps its first thread.
func (s *stub) kill() {
	defer s.fail(errStubGone)
	if s.reaped || s.pid <= 0 {
		return
	}
	if s.pidfd >= 0 {
		s.signalKill()
	} else if unix.Kill(s.pid, unix.SIGKILL) != nil {
		return
	}
	for !s.reaped {
		var ws unix.WaitStatus
		wpid, err := unix.Wait4(s.pid, &ws, unix.WALL, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil || (wpid == s.pid && (ws.Exited() || ws.Signaled())) {
			s.reaped = true
		}
	}
}
