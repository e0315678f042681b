package kernel

import (
	"sync/atomic"
	"testing"
	"time"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/kernel/auth"
	"bulwark.dev/pkg/mm"
	"bulwark.dev/pkg/platform"
)

// spinContext "runs application code" by counting: each Switch adds one to
// steps and returns after a short slice, or at once when interrupted.
type spinContext struct {
	steps atomic.Int64
	intr  chan struct{}
}

func newSpinContext() *spinContext { return &spinContext{intr: make(chan struct{}, 1)} }

func (c *spinContext) Switch(platform.AddressSpace, *platform.Registers) (platform.Trap, error) {
	c.steps.Add(1)
	select {
	case <-c.intr:
	case <-time.After(200 * time.Microsecond):
	}
	return platform.Trap{Kind: platform.TrapInterrupted}, nil
}

func (c *spinContext) Interrupt() {
	select {
	case c.intr <- struct{}{}:
	default:
	}
}

func (c *spinContext) Release() {}

// nopAS is an address space that maps nothing.
type nopAS struct{}

func (nopAS) MapFile(uintptr, uintptr, int64, int) error { return nil }
func (nopAS) Unmap(uintptr, uintptr) error               { return nil }
func (nopAS) Protect(uintptr, uintptr, int) error        { return nil }
func (nopAS) Release()                                   {}

type nopASPlatform struct{ fakePlatform }

func (nopASPlatform) NewAddressSpace() (platform.AddressSpace, error) { return nopAS{}, nil }

// startSpinner starts a process whose "application code" is ctx spinning.
func startSpinner(t *testing.T, k *Kernel) (*Task, *spinContext) {
	t.Helper()
	if k.ThreadGroup(1) == nil {
		// Pid 1 is the init, protected from most signals: the spinner
		// is another process.
		// It never runs.
		init := newTestProcess(t, k, nil, nil)
		k.mu.Lock()
		init.tg.started = false
		k.mu.Unlock()
	}
	task := newTestProcess(t, k, nil, auth.NewRootCredentials())
	ctx := newSpinContext()
	m, err := mm.New(nopASPlatform{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	k.mu.Lock()
	task.ctx = ctx
	task.mm = m
	k.mu.Unlock()
	k.startTask(task)
	t.Cleanup(func() { k.Thaw(); k.Shutdown() })
	return task, ctx
}

// advances reports whether ctx's step count grows within d.
func advances(ctx *spinContext, d time.Duration) bool {
	before := ctx.steps.Load()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if ctx.steps.Load() > before {
			return true
		}
		time.Sleep(time.Millisecond)
	}
	return false
}

func exitedWithin(tg *ThreadGroup, d time.Duration) bool {
	select {
	case <-tg.Done():
		return true
	case <-time.After(d):
		return false
	}
}

func TestFreezeStopsAndThawResumes(t *testing.T) {
	k := newTestKernel(t)
	_, ctx := startSpinner(t, k)
	if !advances(ctx, 2*time.Second) {
		t.Fatal("the task does not run before the freeze")
	}
	if err := k.Freeze(); err != nil {
		t.Fatalf("Freeze: %v", err)
	}
	if !k.Frozen() {
		t.Fatal("Frozen() = false after Freeze")
	}
	if err := k.Freeze(); err != nil { // idempotent
		t.Fatalf("second Freeze: %v", err)
	}
	if advances(ctx, 100*time.Millisecond) {
		t.Fatal("application code ran while frozen")
	}
	k.Thaw()
	if k.Frozen() {
		t.Fatal("Frozen() = true after Thaw")
	}
	if !advances(ctx, 2*time.Second) {
		t.Fatal("the task does not run after the thaw")
	}
	// A second cycle works too.
	if err := k.Freeze(); err != nil {
		t.Fatalf("Freeze again: %v", err)
	}
	if advances(ctx, 50*time.Millisecond) {
		t.Fatal("application code ran while frozen again")
	}
	k.Thaw()
	if !advances(ctx, 2*time.Second) {
		t.Fatal("the task does not run after the second thaw")
	}
}

func TestFrozenSignalsStayPendingUntilThaw(t *testing.T) {
	k := newTestKernel(t)
	task, _ := startSpinner(t, k)
	if err := k.Freeze(); err != nil {
		t.Fatalf("Freeze: %v", err)
	}
	if err := k.Signal(task.tg.pid, linux.SIGTERM); err != nil {
		t.Fatalf("Signal: %v", err)
	}
	if exitedWithin(task.tg, 100*time.Millisecond) {
		t.Fatal("a frozen process acted on SIGTERM")
	}
	if g, _ := pending(task); g&uint64(sigBit(linux.SIGTERM)) == 0 {
		t.Fatalf("SIGTERM is not pending while frozen (group pending %#x)", g)
	}
	k.Thaw()
	if !exitedWithin(task.tg, 2*time.Second) {
		t.Fatal("SIGTERM was not delivered after the thaw")
	}
	if st := task.tg.Wait(); st.Signo != linux.SIGTERM {
		t.Fatalf("exit status %+v, want killed by SIGTERM", st)
	}
}

func TestFrozenProcessDiesOnSIGKILL(t *testing.T) {
	k := newTestKernel(t)
	task, _ := startSpinner(t, k)
	if err := k.Freeze(); err != nil {
		t.Fatalf("Freeze: %v", err)
	}
	if err := k.Signal(task.tg.pid, linux.SIGKILL); err != nil {
		t.Fatalf("Signal: %v", err)
	}
	if !exitedWithin(task.tg, 2*time.Second) {
		t.Fatal("SIGKILL did not kill the frozen process")
	}
	if st := task.tg.Wait(); st.Signo != linux.SIGKILL {
		t.Fatalf("exit status %+v, want killed by SIGKILL", st)
	}
	if !k.Frozen() {
		t.Fatal("the kernel thawed itself")
	}
}

func TestThawWithoutFreezeAndShutdownWhileFrozen(t *testing.T) {
	k := newTestKernel(t)
	k.Thaw() // nothing to do
	if k.Frozen() {
		t.Fatal("Frozen() without Freeze")
	}
	task, _ := startSpinner(t, k)
	if err := k.Freeze(); err != nil {
		t.Fatalf("Freeze: %v", err)
	}
	done := make(chan struct{})
	go func() { k.Shutdown(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Shutdown of a frozen kernel hangs")
	}
	if st := task.tg.Wait(); st.Signo != linux.SIGKILL {
		t.Fatalf("exit status %+v, want SIGKILL", st)
	}
}
