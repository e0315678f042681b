package kernel

import (
	"sync/atomic"
	"testing"

	"bulwark.dev/pkg/kernel/auth"
	"bulwark.dev/pkg/platform"
)

// fakeContext is a platform context that never runs code; it counts
// interrupts.
type fakeContext struct{ interrupts atomic.Int32 }

func (c *fakeContext) Switch(platform.AddressSpace, *platform.Registers) (platform.Trap, error) {
	return platform.Trap{Kind: platform.TrapInterrupted}, nil
}
func (c *fakeContext) Interrupt() { c.interrupts.Add(1) }
func (c *fakeContext) Release()   {}

// fakePlatform hands out fake contexts and no address spaces.
type fakePlatform struct{}

func (fakePlatform) NewAddressSpace() (platform.AddressSpace, error) { return nil, nil }
func (fakePlatform) NewContext() (platform.Context, error)           { return &fakeContext{}, nil }
func (fakePlatform) MinUserAddress() uintptr                         { return 0x10000 }
func (fakePlatform) MaxUserAddress() uintptr                         { return 0x7fffff000000 }
func (fakePlatform) Close()                                          {}

func newTestKernel(t *testing.T) *Kernel {
	t.Helper()
	k, err := New(Config{Platform: fakePlatform{}, Syscalls: SyscallTable{}})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return k
}

// newTestProcess registers a process (with no memory, files or goroutine)
// as a child of parent, or as a parentless session leader.
func newTestProcess(t *testing.T, k *Kernel, parent *ThreadGroup, creds *auth.Credentials) *Task {
	t.Helper()
	if creds == nil {
		creds = auth.NewRootCredentials()
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	pid, err := k.allocPIDLocked()
	if err != nil {
		t.Fatalf("allocPID: %v", err)
	}
	tg := newThreadGroup(k, pid)
	tg.started = true
	task := newTask(k, tg, pid, &fakeContext{})
	task.creds.Store(creds)
	task.comm = "test"
	tg.leader = task
	tg.tasks = []*Task{task}
	if parent != nil {
		tg.parent = parent
		tg.pgid, tg.sid = parent.pgid, parent.sid
		parent.children = append(parent.children, tg)
	} else {
		tg.pgid, tg.sid = pid, pid
		tg.exitSignal = 0
	}
	k.tgs[pid] = tg
	k.tasks[pid] = task
	return task
}

// pending returns the process- and thread-directed pending signals of t.
func pending(t *Task) (group, thread uint64) {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	return uint64(t.tg.pending.set), uint64(t.pending.set)
}
