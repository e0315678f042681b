// Package ptrace implements platform.Platform with stub processes driven by
// ptrace(PTRACE_SYSEMU).
//
// New starts a "master stub": a tiny static executable, built in memory,
// that unmaps everything but its own code page at stubAddr and then waits
// for orders. Every address space is a fork of the master, injected by the
// master's tracer. Linux ties tracing to a thread: the first thread of every
// stub process, which serves injections, has its own tracer (a goroutine
// locked to an OS thread that makes all ptrace calls for it); the thread a
// context runs application code in is traced directly by the goroutine
// that switches the context, locked to its OS thread (see context).
// Mapping memory into a stub is done by injecting mmap, munmap or mprotect
// at a "syscall; int3" pair in the stub page; application code runs under
// PTRACE_SYSEMU so its system calls stop before they execute and are never
// executed by the host.
//
// After New returns, the platform opens no host path: all stubs are forked
// from the master, which holds the memory file at fd 3.
//
// The sandbox process must not wait for arbitrary children (wait4(-1, ...)
// with __WALL) on other threads, or it could steal the stubs' stops.
package ptrace

import (
	"fmt"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"bulwark.dev/pkg/platform"
	istub "bulwark.dev/pkg/platform/internal/stub"
)

// Platform is the ptrace platform. It implements platform.Platform.
type Platform struct {
	img    *stubImage
	master *stub
	mt     *tracer // the master's tracer

	fp *fpFormat // how FPU state is read and written; the initial state

	mu     sync.Mutex // guards spaces and closed
	spaces map[*addressSpace]struct{}
	closed bool
}

var _ platform.Platform = (*Platform)(nil)

// New starts the master stub with the memory file memFD at fd 3 in it.
// It must be called while /proc/self/fd is reachable (before the sandbox
// pivots into an empty root).
func New(memFD int) (*Platform, error) {
	img, err := buildStub()
	if err != nil {
		return nil, fmt.Errorf("building stub: %w", err)
	}
	exe, err := stubExecutable(img.elf)
	if err != nil {
		return nil, err
	}
	defer unix.Close(exe)

	p := &Platform{img: img, spaces: make(map[*addressSpace]struct{})}
	p.master = &stub{img: img, pidfd: -1}
	p.mt, err = startTracer(func() error { return p.startMaster(exe, memFD) })
	if err != nil {
		return nil, err
	}
	return p, nil
}

// stubExecutable returns a CLOEXEC memfd holding the stub executable, at fd
// 10 or above so that it survives the child's fd shuffling until exec.
func stubExecutable(elf []byte) (int, error) {
	fd, err := unix.MemfdCreate("bulwark-stub", unix.MFD_CLOEXEC)
	if err != nil {
		return -1, fmt.Errorf("creating stub memfd: %w", err)
	}
	defer unix.Close(fd)
	if _, err := unix.Write(fd, elf); err != nil {
		return -1, fmt.Errorf("writing stub memfd: %w", err)
	}
	hi, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 10)
	if err != nil {
		return -1, fmt.Errorf("duplicating stub memfd: %w", err)
	}
	return hi, nil
}

// startMaster runs on the master's tracer thread: it starts the stub traced
// by this thread and waits for it to be ready.
func (p *Platform) startMaster(exe, memFD int) error {
	err := p.runMaster(exe, memFD)
	if err != nil {
		p.master.kill()
		p.master.closePidfd()
	}
	return err
}

// runMaster starts the master stub and runs it to its ready stop.
func (p *Platform) runMaster(exe, memFD int) error {
	none := ^uintptr(0) // closes the fd in the child
	pid, err := syscall.ForkExec(fmt.Sprintf("/proc/self/fd/%d", exe), []string{"bulwark-stub"},
		&syscall.ProcAttr{
			Env:   []string{},
			Files: []uintptr{none, none, none, uintptr(memFD)},
			Sys: &syscall.SysProcAttr{
				Ptrace:    true,
				Setsid:    true,
				Pdeathsig: syscall.SIGKILL,
			},
		})
	if err != nil {
		return fmt.Errorf("starting master stub: %w", err)
	}
	m := p.master
	m.pid, m.tgid = pid, pid
	m.openPidfd()
	// The first stop is the SIGTRAP after execve.
	if _, err := m.wait(); err != nil {
		return err
	}
	if err := m.check("PTRACE_SETOPTIONS", unix.PtraceSetOptions(pid, ptraceOptions)); err != nil {
		return err
	}
	// Run the start-up code until its int3.
	for {
		if err := m.check("PTRACE_CONT", unix.PtraceCont(pid, 0)); err != nil {
			return err
		}
		ws, err := m.wait()
		if err != nil {
			return err
		}
		if istub.StopSignal(ws) == unix.SIGTRAP {
			break
		}
	}
	if err := m.check("PTRACE_GETREGS", unix.PtraceGetRegs(pid, &m.base)); err != nil {
		return err
	}
	if uintptr(m.base.Rip) != m.img.syscallAddr {
		return fmt.Errorf("master stub stopped at %#x, want %#x", m.base.Rip, m.img.syscallAddr)
	}
	p.fp, err = probeFP(m)
	return err
}

// MinUserAddress implements platform.Platform.
func (p *Platform) MinUserAddress() uintptr { return minUser }

// MaxUserAddress implements platform.Platform: the stub page starts here.
func (p *Platform) MaxUserAddress() uintptr { return stubAddr }

// NewContext implements platform.Platform. The context's stub thread is
// created at its first Switch, traced by the thread of the calling
// goroutine.
func (p *Platform) NewContext() (platform.Context, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, fmt.Errorf("new context: platform closed")
	}
	return &context{p: p}, nil
}

// NewAddressSpace implements platform.Platform: it forks the master stub
// and attaches a new tracer to the child.
func (p *Platform) NewAddressSpace() (platform.AddressSpace, error) {
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		return nil, fmt.Errorf("new address space: platform closed")
	}
	var pid uintptr
	var ferr error
	if err := p.mt.Do(func() {
		pid, ferr = p.master.inject(p.img.forkAddr, p.img.forkParentTrap, nrFork)
	}); err != nil {
		return nil, fmt.Errorf("new address space: %w", err)
	}
	if ferr != nil {
		return nil, fmt.Errorf("forking master stub: %w", ferr)
	}
	if e := int64(pid); e < 0 {
		return nil, fmt.Errorf("forking master stub: %w", unix.Errno(-e))
	}
	s := &stub{pid: int(pid), tgid: int(pid), img: p.img, pidfd: -1}
	t, err := startTracer(func() error {
		s.openPidfd()
		if err := istub.Ptrace(istub.PtraceSeize, s.pid, 0, ptraceOptions); err != nil {
			s.signalKill() // the master ignores SIGCHLD, so the kernel reaps it
			s.closePidfd()
			return fmt.Errorf("PTRACE_SEIZE of stub %d: %w", s.pid, err)
		}
		if err := s.waitReady(); err != nil {
			s.kill()
			s.closePidfd()
			return err
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("attaching new stub: %w", err)
	}
	as := &addressSpace{p: p, s: s, t: t, threads: make(map[*stub]struct{}), tracers: make(map[int]*stub)}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		as.release()
		return nil, fmt.Errorf("new address space: platform closed")
	}
	p.spaces[as] = struct{}{}
	return as, nil
}

// Close implements platform.Platform: it kills every stub.
func (p *Platform) Close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	spaces := p.spaces
	p.spaces = nil
	p.mu.Unlock()
	// Killing every stub ends the contexts' Switches too (with an error).
	for as := range spaces {
		as.release()
	}
	p.master.signalKill()
	p.mt.Do(p.master.kill)
	p.mt.Stop()
	p.master.closePidfd()
}

// forget removes a released address space from the platform's set.
func (p *Platform) forget(as *addressSpace) {
	p.mu.Lock()
	delete(p.spaces, as)
	p.mu.Unlock()
}
