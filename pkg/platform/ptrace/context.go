package ptrace

import (
	"fmt"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"bulwark.dev/pkg/platform"
)

// context is one application thread. It has its own tracer thread and, in
// the address space it last switched into, its own stub thread, so that
// contexts sharing an address space run at the same time. Its register
// state lives in the kernel (the regs passed to Switch); its FPU state
// lives in its stub thread, with a copy here when the kernel asked for it
// or changed it.
type context struct {
	p *Platform
	t *tracer

	// interrupted is set by Interrupt and consumed by Switch.
	interrupted atomic.Bool
	// running is the stub thread the context is running in, or nil.
	running atomic.Pointer[stub]

	// Fields below are used only on the tracer thread.
	as      *addressSpace // address space of th
	th      *stub         // the context's stub thread in as, or nil
	fp      []byte        // copy of the FPU state, valid when fpValid
	fpValid bool          // fp is the current state
	fpDirty bool          // fp must be written to th before it runs
	fpOn    *stub         // the stub thread holding the live state, or nil
}

var (
	_ platform.Context   = (*context)(nil)
	_ platform.FPContext = (*context)(nil)
)

// Switch implements platform.Context.
func (c *context) Switch(as platform.AddressSpace, regs *platform.Registers) (platform.Trap, error) {
	pas, ok := as.(*addressSpace)
	if !ok {
		return platform.Trap{}, fmt.Errorf("switch: address space %T is not from the ptrace platform", as)
	}
	var trap platform.Trap
	var err error
	if terr := c.t.do(func() { trap, err = c.switchOnTracer(pas, regs) }); terr != nil {
		err = terr
	}
	if err != nil {
		return platform.Trap{}, fmt.Errorf("switch: %w", err)
	}
	return trap, nil
}

// switchOnTracer is Switch on the context's tracer thread.
func (c *context) switchOnTracer(as *addressSpace, regs *platform.Registers) (platform.Trap, error) {
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
	return th.switchTo(regs, func() bool { return c.interrupted.Swap(false) })
}

// threadIn returns the context's stub thread in as, creating it (and
// ending the one in its previous address space) when needed.
func (c *context) threadIn(as *addressSpace) (*stub, error) {
	if c.as == as && c.th != nil && c.th.dead == nil {
		return c.th, nil
	}
	c.dropThread()
	th, err := as.newThread()
	if err != nil {
		return nil, err
	}
	if err := th.seize(); err != nil {
		as.forgetThread(th)
		return nil, err
	}
	c.as, c.th = as, th
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
		if !c.fpValid && th.dead == nil {
			c.fp = make([]byte, len(c.p.fp.initial))
			if c.p.fp.getFP(th, c.fp) == nil {
				c.fpValid = true
				c.fpDirty = true
			}
		}
		c.fpOn = nil
	}
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
	var out []byte
	var err error
	if terr := c.t.do(func() {
		if !c.fpValid {
			buf := make([]byte, len(c.p.fp.initial))
			if c.fpOn == nil {
				copy(buf, c.p.fp.initial)
			} else if err = c.p.fp.getFP(c.fpOn, buf); err != nil {
				return
			}
			c.fp, c.fpValid = buf, true
		}
		out = append([]byte(nil), c.fp...)
	}); terr != nil {
		return nil, terr
	}
	return out, err
}

// SetFPState implements platform.FPContext.
func (c *context) SetFPState(b []byte) error {
	buf, err := c.p.fp.build(b)
	if err != nil {
		return err
	}
	return c.t.do(func() {
		c.fp, c.fpValid, c.fpDirty = buf, true, true
	})
}

// Interrupt implements platform.Context.
func (c *context) Interrupt() {
	c.interrupted.Store(true)
	if th := c.running.Load(); th != nil {
		// A stale signal (the Switch already returned) is suppressed by
		// the tracer when the thread next runs.
		unix.Tgkill(th.tgid, th.pid, interruptSignal)
	}
}

// Release implements platform.Context: it ends the context's stub thread
// and its tracer.
func (c *context) Release() {
	c.t.do(c.dropThread)
	c.t.stop()
	c.p.forgetContext(c)
}
