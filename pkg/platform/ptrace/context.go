package ptrace

import (
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"bulwark.dev/pkg/platform"
	istub "bulwark.dev/pkg/platform/internal/stub"
)

// context is one application thread. In the address space it last
// switched into it has its own stub thread, so that contexts sharing an
// address space run at the same time. Its register state lives in the
// kernel (the regs passed to Switch); its FPU state lives in its stub
// thread, with a copy here when the kernel asked for it or changed it.
//
// The stub thread is traced by the OS thread of the goroutine that uses the
// context: the first Switch locks that goroutine to its thread
// (runtime.LockOSThread) until Release, so that a Switch is SETREGS,
// PTRACE_SYSEMU, wait4 and GETREGS made by the caller itself, with no
// hand-off to another thread. Switch, FPState and Release must therefore
// be called by that goroutine (the task's), as platform.Context says;
// SetFPState and Interrupt may be called from anywhere.
type context struct {
	p *Platform

	// interrupted is set by Interrupt and consumed by Switch.
	interrupted atomic.Bool
	// running is the stub thread the context is running in, or nil.
	running atomic.Pointer[stub]

	// Fields below are used only by the goroutine using the context.
	owner    int           // tid of the OS thread tracing th; 0 when not locked
	released bool          // Release was called
	as       *addressSpace // address space of th
	th       *stub         // the context's stub thread in as, or nil
	pin      *istub.Pin    // th's CPU affinity
	host     istub.HostPin // the owner thread's CPU affinity
	fp       []byte        // copy of the FPU state, valid when fpValid
	fpValid  bool          // fp is the current state
	fpDirty  bool          // fp must be written to th before it runs
	fpOn     *stub         // the stub thread holding the live state, or nil
}

var (
	_ platform.Context   = (*context)(nil)
	_ platform.FPContext = (*context)(nil)
)

// errNotOwner is returned when a goroutine other than the one that first
// switched a context tries to drive its stub thread.
var errNotOwner = errors.New("context used by a goroutine other than the one that first switched it")

// Switch implements platform.Context.
func (c *context) Switch(as platform.AddressSpace, regs *platform.Registers) (platform.Trap, error) {
	pas, ok := as.(*addressSpace)
	if !ok {
		return platform.Trap{}, fmt.Errorf("switch: address space %T is not from the ptrace platform", as)
	}
	if c.released {
		return platform.Trap{}, fmt.Errorf("switch: context released")
	}
	if c.owner == 0 {
		// Held until Release: every ptrace call for th must come from
		// this thread.
		runtime.LockOSThread()
		c.owner = unix.Gettid()
		c.host = c.p.aff.NewHostPin()
	}
	trap, err := c.switchOnOwner(pas, regs)
	if err != nil {
		if unix.Gettid() != c.owner {
			err = errNotOwner
		}
		return platform.Trap{}, fmt.Errorf("switch: %w", err)
	}
	return trap, nil
}

// switchOnOwner is Switch on the context's owner thread.
func (c *context) switchOnOwner(as *addressSpace, regs *platform.Registers) (platform.Trap, error) {
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
	if err := c.loadFP(th); err != nil {
		return platform.Trap{}, err
	}
	c.fpValid = false
	c.host.Follow(c.pin, c.pin.Follow())
	c.pin.Enter()
	defer c.pin.Exit()
	return th.switchTo(regs, &c.interrupted)
}

// threadIn returns the context's stub thread in as, creating it (and
// ending the one in its previous address space) when needed.
func (c *context) threadIn(as *addressSpace) (*stub, error) {
	if c.as == as && c.th != nil && c.th.Dead == nil {
		return c.th, nil
	}
	c.dropThread()
	th, err := as.newThread()
	if err != nil {
		return nil, err
	}
	if err := th.seize(); err != nil {
		as.forgetThread(th)
		as.fail(err)
		return nil, err
	}
	as.setTracer(th, c.owner)
	c.as, c.th = as, th
	c.pin = c.p.aff.NewPin(th.pinTo, func() { as.unpin(th) })
	if err := as.goLive(th); err != nil {
		return nil, err
	}
	return th, nil
}

// dropThread ends the context's stub thread, first saving the FPU state
// when it lives there.
func (c *context) dropThread() {
	th := c.th
	if th == nil {
		return
	}
	if c.fpOn == th {
		if !c.fpValid && th.Dead == nil {
			c.fp = make([]byte, len(c.p.fp.initial))
			if c.p.fp.getFP(th, c.fp) == nil {
				c.fpValid = true
				c.fpDirty = true
			}
		}
		c.fpOn = nil
	}
	c.pin.Forget()
	if !c.as.isReleased() {
		th.exitThread()
	}
	c.as.forgetThread(th)
	c.as, c.th = nil, nil
}

// loadFP makes th hold the context's FPU state before it runs.
func (c *context) loadFP(th *stub) error {
	if c.fpOn != th {
		if !c.fpValid {
			// The state was never read or set: a new thread starts with
			// the initial one, which th already has.
			c.fp = append([]byte(nil), c.p.fp.initial...)
			c.fpValid = true
			c.fpDirty = false
		} else {
			c.fpDirty = true
		}
		c.fpOn = th
	}
	if !c.fpDirty {
		return nil
	}
	if err := c.p.fp.setFP(th, c.fp); err != nil {
		// Validated in SetFPState; the host still refused it.
		return err
	}
	c.fpDirty = false
	return nil
}

// FPState implements platform.FPContext.
func (c *context) FPState() ([]byte, error) {
	if !c.fpValid {
		buf := make([]byte, len(c.p.fp.initial))
		if c.fpOn == nil {
			copy(buf, c.p.fp.initial)
		} else {
			if c.owner == 0 || unix.Gettid() != c.owner {
				return nil, fmt.Errorf("reading FPU state: %w", errNotOwner)
			}
			if err := c.p.fp.getFP(c.fpOn, buf); err != nil {
				return nil, err
			}
		}
		c.fp, c.fpValid = buf, true
	}
	return append([]byte(nil), c.fp...), nil
}

// SetFPState implements platform.FPContext.
func (c *context) SetFPState(b []byte) error {
	buf, err := c.p.fp.build(b)
	if err != nil {
		return err
	}
	c.fp, c.fpValid, c.fpDirty = buf, true, true
	return nil
}

// Interrupt implements platform.Context.
func (c *context) Interrupt() {
	c.interrupted.Store(true)
	if th := c.running.Load(); th != nil {
		// A stale signal (the Switch already returned) is suppressed by
		// the tracer when the thread next runs.
		unix.Tgkill(th.TGID, th.PID, interruptSignal)
	}
}

// Release implements platform.Context: it ends the context's stub thread
// and unlocks the goroutine that Switch locked. Called by another
// goroutine, it cannot end the stub thread (only its tracer can); the
// thread then stays stopped until its address space is released.
func (c *context) Release() {
	if c.released {
		return
	}
	c.released = true
	if c.owner != 0 && unix.Gettid() == c.owner {
		c.dropThread()
		c.host.Release()
		c.owner = 0
		runtime.UnlockOSThread()
	}
}
