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
// Forks and execs are made cheaper three ways: spare address spaces, each
// with a thread cloned for its first context, are made ahead of need
// (pool.go); changes to an address space nothing has run in yet are
// recorded and replayed in one batch by its first context (pending.go);
// and released stubs are reaped in the background.
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
	"sync/atomic"

	"golang.org/x/sys/unix"

	"bulwark.dev/pkg/platform"
	istub "bulwark.dev/pkg/platform/internal/stub"
)

// Platform is the ptrace platform. It implements platform.Platform.
type Platform struct {
	img    *stubImage
	master *stub
	mt     *tracer // the master's tracer

	fp  *fpFormat       // how FPU state is read and written; the initial state
	aff *istub.Affinity // frees context threads pinned for long

	mu     sync.Mutex // guards spaces and closed
	spaces map[*addressSpace]struct{}
	closed bool

	reaping   sync.WaitGroup     // released stubs not yet reaped (background)
	spare     chan *addressSpace // ready address spaces (pool.go)
	refilling atomic.Bool        // a goroutine is filling spare
	made      atomic.Bool        // NewAddressSpace was called before
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
	exe, err := istub.Executable("bulwark-stub", img.elf)
	if err != nil {
		return nil, err
	}
	defer unix.Close(exe)
	if err := istub.QuietStops(); err != nil {
		return nil, err
	}
	istub.ProbeCPU()
	p := &Platform{img: img, aff: new(istub.Affinity), spaces: make(map[*addressSpace]struct{}),
		spare: make(chan *addressSpace, spareStubs)}
	p.mt, err = startTracer(func() error {
		files := []uintptr{istub.CloseFD, istub.CloseFD, istub.CloseFD, uintptr(memFD)}
		m, err := istub.StartMaster(exe, files, ptraceOptions, img.syscallAddr, errStubGone)
		if err != nil {
			return err
		}
		p.master = &stub{Thread: m, img: img}
		if p.fp, err = probeFP(p.master); err != nil {
			m.Kill()
			m.ClosePidfd()
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return p, nil
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

// NewAddressSpace implements platform.Platform: it takes a spare address
// space from the pool, or makes one.
func (p *Platform) NewAddressSpace() (platform.AddressSpace, error) {
	if p.isClosed() {
		return nil, fmt.Errorf("new address space: platform closed")
	}
	if as := p.takeSpare(); as != nil {
		return as, nil
	}
	return p.newAddressSpace()
}

// newAddressSpace forks the master stub and attaches a new tracer to the
// child.
func (p *Platform) newAddressSpace() (*addressSpace, error) {
	if p.isClosed() {
		return nil, fmt.Errorf("new address space: platform closed")
	}
	var pid uintptr
	var ferr error
	if err := p.mt.Do(func() {
		pid, ferr = p.master.Inject(p.img.forkAddr, p.img.forkParentTrap, 0, nrFork)
	}); err != nil {
		return nil, fmt.Errorf("new address space: %w", err)
	}
	if ferr != nil {
		return nil, fmt.Errorf("forking master stub: %w", ferr)
	}
	if e := int64(pid); e < 0 {
		return nil, fmt.Errorf("forking master stub: %w", unix.Errno(-e))
	}
	s := newStub(p.img, int(pid), int(pid))
	t, err := startTracer(func() error {
		s.OpenPidfd()
		if err := s.Seize(ptraceOptions, false); err != nil {
			s.SignalKill() // the master ignores SIGCHLD, so the kernel reaps it
			s.ClosePidfd()
			return err
		}
		if err := s.WaitReady(); err != nil {
			s.Kill()
			s.ClosePidfd()
			return err
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("attaching new stub: %w", err)
	}
	as := &addressSpace{p: p, s: s, t: t, threads: make(map[*stub]struct{}), tracers: make(map[int]*stub)}
	p.mu.Lock()
	closed := p.closed
	if !closed {
		p.spaces[as] = struct{}{}
	}
	p.mu.Unlock()
	if closed {
		as.release() // not under p.mu: release takes it
		return nil, fmt.Errorf("new address space: platform closed")
	}
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
	p.drainSpares()
	// Killing every stub ends the contexts' Switches too (with an error).
	for as := range spaces {
		as.release()
	}
	p.reaping.Wait()
	p.master.SignalKill()
	p.mt.Do(p.master.Kill)
	p.mt.Stop()
	p.master.ClosePidfd()
	p.aff.Close()
}

// isClosed reports whether Close was called.
func (p *Platform) isClosed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}

// background runs f on a new goroutine that Close waits for, or at once
// when the platform is closed.
func (p *Platform) background(f func()) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		f()
		return
	}
	p.reaping.Add(1) // under mu, so before Close's Wait
	p.mu.Unlock()
	go func() {
		defer p.reaping.Done()
		f()
	}()
}

// forget removes a released address space from the platform's set.
func (p *Platform) forget(as *addressSpace) {
	p.mu.Lock()
	delete(p.spaces, as)
	p.mu.Unlock()
}
