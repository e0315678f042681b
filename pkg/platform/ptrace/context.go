package ptrace

import (
	"fmt"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"bulwark.dev/pkg/platform"
)

// context is one application thread. Its register state lives in the
// kernel (the regs passed to Switch); the FPU state lives in the stub thread
// it runs on.
type context struct {
	// interrupted is set by Interrupt and consumed by Switch.
	interrupted atomic.Bool
	// running is the pid of the stub the context is running in, or 0.
	running atomic.Int32
}

var _ platform.Context = (*context)(nil)

// Switch implements platform.Context.
func (c *context) Switch(as platform.AddressSpace, regs *platform.Registers) (platform.Trap, error) {
	pas, ok := as.(*addressSpace)
	if !ok {
		return platform.Trap{}, fmt.Errorf("switch: address space %T is not from the ptrace platform", as)
	}
	// Publish the stub before looking at the flag: an Interrupt either sees
	// the stub and signals it, or set the flag before we read it here.
	c.running.Store(int32(pas.s.pid))
	defer c.running.Store(0)
	if c.interrupted.Swap(false) {
		return platform.Trap{Kind: platform.TrapInterrupted}, nil
	}
	var trap platform.Trap
	err := pas.do(func() error {
		var err error
		trap, err = pas.s.switchTo(regs, func() bool { return c.interrupted.Swap(false) })
		return err
	})
	if err != nil {
		return platform.Trap{}, fmt.Errorf("switch: %w", err)
	}
	return trap, nil
}

// Interrupt implements platform.Context.
func (c *context) Interrupt() {
	c.interrupted.Store(true)
	if pid := c.running.Load(); pid != 0 {
		// A stale signal (the Switch already returned) is suppressed by
		// the tracer when the stub next runs.
		unix.Tgkill(int(pid), int(pid), interruptSignal)
	}
}

// Release implements platform.Context; a context holds no host resources.
func (c *context) Release() {}
