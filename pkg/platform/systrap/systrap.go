// Package systrap implements platform.Platform with seccomp traps instead
// of ptrace stops for every application syscall.
//
// Address spaces are stub processes forked from a master stub, as in
// pkg/platform/ptrace: a tiny static executable built in memory whose
// first thread has no filter and runs, by ptrace injection on its own
// tracer thread, the host syscalls that change the address space (fork,
// clone, mmap, munmap, mprotect). Application code runs in other threads
// of the stub, one per context, which are not traced at all. Each such
// thread installs a seccomp filter on itself that answers SECCOMP_RET_TRAP
// to every syscall made outside the stub's code, so an application syscall
// raises SIGSYS instead of running. The stub's handler for SIGSYS (and for
// faults and the interrupt signal), running on a signal stack in the
// thread's slot (memory shared with the sandbox, see slot.go), publishes
// the frame's address, wakes the sandbox with a futex and sleeps on
// another until the sandbox has rewritten the registers in the frame;
// returning from the handler (rt_sigreturn) then resumes the application
// with them. A round trip is two futex wake-ups instead of four ptrace
// stops and register copies.
//
// After New returns, the platform opens no host path: every stub is forked
// from the master, which holds the memory file at fd 3 and the slot file
// at fd 4.
package systrap

import (
	"fmt"
	"sync"

	"golang.org/x/sys/unix"

	"bulwark.dev/pkg/platform"
	istub "bulwark.dev/pkg/platform/internal/stub"
)

// interruptSignal is sent with tgkill by Context.Interrupt; the stub's
// handler reports it like any trap.
const interruptSignal = uint32(unix.SIGURG)

// Platform is the systrap platform. It implements platform.Platform.
type Platform struct {
	img    *stubImage
	slots  *slotFile
	master *stub
	mt     *tracer // the master's tracer

	fp  *fpFormat       // the FPU state format and initial state
	aff *istub.Affinity // frees context threads pinned for long

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
	exe, err := istub.Executable("bulwark-systrap-stub", img.elf)
	if err != nil {
		return nil, err
	}
	defer unix.Close(exe)
	if err := istub.QuietStops(); err != nil {
		return nil, err
	}
	istub.ProbeCPU()
	slots, err := newSlotFile()
	if err != nil {
		return nil, err
	}
	p := &Platform{img: img, slots: slots, aff: new(istub.Affinity), spaces: make(map[*addressSpace]struct{})}
	p.mt, err = startTracer(func() error {
		files := []uintptr{istub.CloseFD, istub.CloseFD, istub.CloseFD, uintptr(memFD), uintptr(slots.fd)}
		m, err := istub.StartMaster(exe, files, ptraceOptions, img.syscallAddr, errStubGone)
		p.master = m
		return err
	})
	// The stubs hold the slot file now; the sandbox keeps its mapping.
	unix.Close(slots.fd)
	slots.fd = -1
	if err != nil {
		return nil, err
	}
	if p.fp, err = probeFP(p); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

// MinUserAddress implements platform.Platform.
func (p *Platform) MinUserAddress() uintptr { return minUser }

// MaxUserAddress implements platform.Platform: the stub page starts here.
func (p *Platform) MaxUserAddress() uintptr { return stubAddr }

// NewContext implements platform.Platform. The context's stub thread is
// created at its first Switch.
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
	as, err := p.newAddressSpace()
	if err != nil {
		return nil, err
	}
	return as, nil
}

func (p *Platform) newAddressSpace() (*addressSpace, error) {
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
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
	s := istub.NewThread(int(pid), int(pid), p.img.syscallAddr, errStubGone)
	t, err := startTracer(func() error {
		s.OpenPidfd()
		if err := s.Seize(ptraceOptions, true); err != nil {
			s.SignalKill() // the master ignores SIGCHLD: the host reaps it
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
	as := &addressSpace{p: p, s: s, t: t, threads: make(map[*thread]struct{})}
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
	for as := range spaces {
		as.release() // ends the contexts' Switches (with an error)
	}
	p.master.SignalKill()
	p.mt.Do(p.master.Kill)
	p.mt.Stop()
	p.master.ClosePidfd()
	p.aff.Close()
	// The slot file stays mapped (a context may still look at its slot
	// after Close): the platform is meant to live as long as the sandbox.
}

func (p *Platform) forget(as *addressSpace) {
	p.mu.Lock()
	delete(p.spaces, as)
	p.mu.Unlock()
}
