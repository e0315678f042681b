package systrap

import (
	"encoding/binary"
	"fmt"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"bulwark.dev/pkg/platform"
	istub "bulwark.dev/pkg/platform/internal/stub"
)

// context is one application thread. In the address space it last
// switched into it has its own stub thread, which waits in its signal
// handler whenever the context is not running.
//
// Switch, FPState and Release are called by the context's goroutine (the
// task's); SetFPState and Interrupt may be called from anywhere.
type context struct {
	p *Platform

	interrupted atomic.Bool            // set by Interrupt, consumed by Switch
	running     atomic.Pointer[thread] // the thread while Switch runs it

	// Used only by the context's goroutine (and SetFPState).
	released bool
	th       *thread    // the stub thread in the last address space, or nil
	pin      *istub.Pin // th's CPU affinity
	// fp is the FPU state when fpDirty: it must be written into th's
	// frame before th runs. Otherwise th's frame holds the state (or,
	// with no th, it is the initial state).
	fp      []byte
	fpDirty bool
}

var (
	_ platform.Context   = (*context)(nil)
	_ platform.FPContext = (*context)(nil)
)

const (
	userCS     = 0x33
	userSS     = 0x2b
	sysSeccomp = 1 // si_code of a SIGSYS from a seccomp filter
	enosysRet  = ^uint64(unix.ENOSYS - 1)
)

// Switch implements platform.Context.
func (c *context) Switch(as platform.AddressSpace, regs *platform.Registers) (platform.Trap, error) {
	sas, ok := as.(*addressSpace)
	if !ok {
		return platform.Trap{}, fmt.Errorf("switch: address space %T is not from the systrap platform", as)
	}
	if c.released {
		return platform.Trap{}, fmt.Errorf("switch: context released")
	}
	trap, err := c.switchTo(sas, regs)
	if err != nil {
		return platform.Trap{}, fmt.Errorf("switch: %w", err)
	}
	return trap, nil
}

func (c *context) switchTo(as *addressSpace, regs *platform.Registers) (platform.Trap, error) {
	th, err := c.threadIn(as)
	if err != nil {
		return platform.Trap{}, err
	}
	// Publish the thread before looking at the flag: an Interrupt either
	// sees it and signals it, or set the flag before we read it here.
	c.running.Store(th)
	defer c.running.Store(nil)
	if c.interrupted.Swap(false) {
		return platform.Trap{Kind: platform.TrapInterrupted}, nil
	}
	if err := c.store(th, regs); err != nil {
		return platform.Trap{}, err
	}
	spin := !c.pin.Follow()
	c.pin.Enter()
	defer c.pin.Exit()
	for {
		th.sl.resume(goResume, spin)
		if err := th.sl.wait(spin, th.alive); err != nil {
			return platform.Trap{}, err
		}
		trap, stop, err := c.classify(th)
		if err != nil {
			return platform.Trap{}, err
		}
		if stop {
			if err := load(th, regs, trap.Kind == platform.TrapSyscall); err != nil {
				return platform.Trap{}, err
			}
			return trap, nil
		}
		// Suppressed (a stale interrupt, a signal from elsewhere): the
		// frame is resumed as it is.
	}
}

// threadIn returns the context's stub thread in as, creating it (and
// ending the one in its previous address space) when needed.
func (c *context) threadIn(as *addressSpace) (*thread, error) {
	if c.th != nil && c.th.as == as && !as.released.Load() {
		return c.th, nil
	}
	c.dropThread()
	th, err := as.newThread()
	if err != nil {
		return nil, err
	}
	c.th = th
	c.pin = c.p.aff.NewPin(th.pinTo, func() { as.unpin(th) })
	return th, nil
}

// dropThread ends the context's stub thread, first saving its FPU state.
func (c *context) dropThread() {
	th := c.th
	if th == nil {
		return
	}
	if !c.fpDirty {
		if b, err := c.p.fp.read(th); err == nil {
			c.fp, c.fpDirty = b, true
		}
	}
	c.pin.Forget()
	th.drop()
	c.th = nil
}

// store writes regs (and a pending FPU state) into th's frame.
func (c *context) store(th *thread, regs *platform.Registers) error {
	off, err := th.sl.frame(hdrCtx, ucSize)
	if err != nil {
		return err
	}
	le := binary.LittleEndian
	m := th.sl.mem[off+ucMcontext:]
	for i, r := range mcontextRegs(regs) {
		le.PutUint64(m[8*i:], *r)
	}
	le.PutUint16(m[144:], userCS)
	le.PutUint16(m[150:], userSS)
	le.PutUint64(th.sl.mem[off+ucSigmask:], 0) // no signal blocked in the application
	if regs.Fs_base != th.fs {
		le.PutUint64(th.sl.mem[hdrFS:], regs.Fs_base)
		atomic.StoreUint32(th.sl.word(hdrSetFS), 1)
		th.fs = regs.Fs_base
	}
	if regs.Gs_base != th.gs {
		le.PutUint64(th.sl.mem[hdrGS:], regs.Gs_base)
		atomic.StoreUint32(th.sl.word(hdrSetGS), 1)
		th.gs = regs.Gs_base
	}
	if c.fpDirty {
		if err := c.p.fp.write(th, c.fp); err != nil {
			return err
		}
		c.fpDirty = false
	}
	return nil
}

// load reads the registers of th's frame into regs.
func load(th *thread, regs *platform.Registers, syscall bool) error {
	off, err := th.sl.frame(hdrCtx, ucSize)
	if err != nil {
		return err
	}
	le := binary.LittleEndian
	m := th.sl.mem[off+ucMcontext:]
	for i, r := range mcontextRegs(regs) {
		*r = le.Uint64(m[8*i:])
	}
	regs.Cs, regs.Ss = userCS, userSS
	regs.Fs_base, regs.Gs_base = th.fs, th.gs
	regs.Orig_rax = ^uint64(0)
	if syscall {
		// The filter rolled rax back to the number; report it as
		// PTRACE_SYSEMU does.
		regs.Orig_rax, regs.Rax = regs.Rax, enosysRet
	}
	return nil
}

// syncKinds are the signals an instruction raises by itself.
var syncKinds = map[uint32]platform.TrapKind{
	uint32(unix.SIGSEGV): platform.TrapFault,
	uint32(unix.SIGBUS):  platform.TrapFault,
	uint32(unix.SIGILL):  platform.TrapSignal,
	uint32(unix.SIGFPE):  platform.TrapSignal,
	uint32(unix.SIGTRAP): platform.TrapSignal,
}

// classify turns th's trap into a platform.Trap; stop is false when it is
// to be suppressed and the application resumed.
func (c *context) classify(th *thread) (platform.Trap, bool, error) {
	info, err := th.sl.frame(hdrInfo, siginfoSize)
	if err != nil {
		return platform.Trap{}, false, err
	}
	le := binary.LittleEndian
	signo := atomic.LoadUint32(th.sl.word(hdrSigno))
	code := int32(le.Uint32(th.sl.mem[info+siCode:]))
	switch signo {
	case uint32(unix.SIGSYS):
		return platform.Trap{Kind: platform.TrapSyscall}, code == sysSeccomp, nil
	case interruptSignal:
		return platform.Trap{Kind: platform.TrapInterrupted}, c.interrupted.Swap(false), nil
	}
	kind, ok := syncKinds[signo]
	if !ok || code <= 0 { // unknown, or sent by kill/tgkill, not by the CPU
		return platform.Trap{}, false, nil
	}
	t := platform.Trap{Kind: kind, Signo: int(signo), Code: int(code)}
	if kind == platform.TrapFault {
		t.Addr = uintptr(le.Uint64(th.sl.mem[info+siAddr:]))
	}
	return t, true, nil
}

// FPState implements platform.FPContext.
func (c *context) FPState() ([]byte, error) {
	switch {
	case c.fpDirty:
		return append([]byte(nil), c.fp...), nil
	case c.th != nil:
		return c.p.fp.read(c.th)
	default:
		return append([]byte(nil), c.p.fp.initial...), nil
	}
}

// SetFPState implements platform.FPContext.
func (c *context) SetFPState(b []byte) error {
	buf, err := c.p.fp.build(b)
	if err != nil {
		return err
	}
	c.fp, c.fpDirty = buf, true
	return nil
}

// Interrupt implements platform.Context.
func (c *context) Interrupt() {
	c.interrupted.Store(true)
	if th := c.running.Load(); th != nil {
		// A stale signal (the Switch already returned) is suppressed
		// when the thread next runs.
		unix.Tgkill(th.as.s.PID, th.tid, unix.Signal(interruptSignal))
	}
}

// Release implements platform.Context: it ends the context's stub thread.
func (c *context) Release() {
	if c.released {
		return
	}
	c.released = true
	c.dropThread()
}
