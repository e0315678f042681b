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
	"syscall"

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

	fp *fpFormat // the FPU state format and initial state

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
	slots, err := newSlotFile()
	if err != nil {
		return nil, err
	}
	p := &Platform{img: img, slots: slots, spaces: make(map[*addressSpace]struct{})}
	p.master = &stub{img: img, pidfd: -1}
	p.mt, err = startTracer(func() error {
		err := p.runMaster(exe, memFD)
		if err != nil {
			p.master.kill()
			p.master.closePidfd()
		}
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

// stubExecutable returns a CLOEXEC memfd holding the stub executable, at fd
// 10 or above so that it survives the child's fd shuffling until exec.
func stubExecutable(elf []byte) (int, error) {
	fd, err := unix.MemfdCreate("bulwark-systrap-stub", unix.MFD_CLOEXEC)
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

// runMaster starts the master stub, traced by the calling (tracer) thread,
// and runs it to its ready int3.
func (p *Platform) runMaster(exe, memFD int) error {
	none := ^uintptr(0) // closes the fd in the child
	pid, err := syscall.ForkExec(fmt.Sprintf("/proc/self/fd/%d", exe), []string{"bulwark-stub"},
		&syscall.ProcAttr{
			Env:   []string{},
			Files: []uintptr{none, none, none, uintptr(memFD), uintptr(p.slots.fd)},
			Sys:   &syscall.SysProcAttr{Ptrace: true, Setsid: true, Pdeathsig: syscall.SIGKILL},
		})
	if err != nil {
		return fmt.Errorf("starting master stub: %w", err)
	}
	m := p.master
	m.pid = pid
	m.openPidfd()
	if _, err := m.wait(); err != nil { // the SIGTRAP after execve
		return err
	}
	if err := m.check("PTRACE_SETOPTIONS", unix.PtraceSetOptions(pid, ptraceOptions)); err != nil {
		return err
	}
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
	return nil
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
		pid, ferr = p.master.inject(p.img.forkAddr, p.img.forkParentTrap, 0, nrFork)
	}); err != nil {
		return nil, fmt.Errorf("new address space: %w", err)
	}
	if ferr != nil {
		return nil, fmt.Errorf("forking master stub: %w", ferr)
	}
	if e := int64(pid); e < 0 {
		return nil, fmt.Errorf("forking master stub: %w", unix.Errno(-e))
	}
	s := &stub{pid: int(pid), img: p.img, pidfd: -1}
	t, err := startTracer(func() error {
		s.openPidfd()
		err := istub.Ptrace(istub.PtraceSeize, s.pid, 0, ptraceOptions)
		if err == nil {
			err = istub.Ptrace(istub.PtraceInterrupt, s.pid, 0, 0)
		}
		if err != nil {
			s.signalKill() // the master ignores SIGCHLD: the host reaps it
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
	p.master.signalKill()
	p.mt.Do(p.master.kill)
	p.mt.Stop()
	p.master.closePidfd()
	// The slot file stays mapped (a context may still look at its slot
	// after Close): the platform is meant to live as long as the sandbox.
}

func (p *Platform) forget(as *addressSpace) {
	p.mu.Lock()
	delete(p.spaces, as)
	p.mu.Unlock()
}
