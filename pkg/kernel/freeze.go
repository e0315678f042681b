package kernel

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"bulwark.dev/pkg/abi/linux"
)

// Freezing (runsc pause/resume) holds every task of the kernel at the top
// of its run loop, before it takes signals or runs application code:
//   - a task running application code is interrupted (platform Interrupt)
//     and held when it comes back;
//   - a task blocked in a syscall stays blocked; when its wait ends (a timer
//     fires, data arrives) it finishes the syscall in the kernel and is held
//     before returning to the application;
//   - timers keep running and signals keep arriving, but stay pending: a
//     held task dequeues nothing, so no handler and no default action runs
//     until the thaw;
//   - SIGKILL is the exception, like Linux's cgroup freezer, where fatal
//     signals kill frozen tasks: a frozen process that gets SIGKILL exits
//     (status SIGKILL) without being thawed, so kill -9 and destroy work on
//     a paused container.
//
// The state of one kernel's freezer lives in freezers (keyed by kernel, so
// kernels that are never frozen pay one map lookup per return to user
// mode).

// freezer is one kernel's freeze state.
type freezer struct {
	frozen atomic.Bool

	mu   sync.Mutex
	thaw chan struct{}      // mu: closed by Thaw; replaced by Freeze
	held map[*Task]struct{} // mu: tasks waiting in holdWhileFrozen
}

// freezers maps *Kernel to its *freezer, created by the first Freeze.
var freezers sync.Map

// freezeLimit bounds how long Freeze waits for running tasks to stop.
const freezeLimit = 10 * time.Second

// freezerOf returns k's freezer, or nil if k was never frozen.
func (k *Kernel) freezerOf() *freezer {
	if f, ok := freezers.Load(k); ok {
		return f.(*freezer)
	}
	return nil
}

// frozen reports whether k is frozen.
func (k *Kernel) frozen() bool {
	f := k.freezerOf()
	return f != nil && f.frozen.Load()
}

// Frozen reports whether the kernel is frozen (between Freeze and Thaw).
func (k *Kernel) Frozen() bool { return k.frozen() }

// Freeze stops all application code: when it returns, no task runs
// application code nor takes a signal until Thaw (SIGKILL excepted, see
// above). Freezing a frozen kernel does nothing. An error means some task
// did not stop in time; the kernel then stays frozen (Thaw undoes it).
func (k *Kernel) Freeze() error {
	v, _ := freezers.LoadOrStore(k, &freezer{held: map[*Task]struct{}{}})
	f := v.(*freezer)
	f.mu.Lock()
	if f.frozen.Load() {
		f.mu.Unlock()
		return nil
	}
	f.thaw = make(chan struct{})
	f.frozen.Store(true)
	f.mu.Unlock()

	deadline := time.Now().Add(freezeLimit)
	for delay := 50 * time.Microsecond; ; delay = min(2*delay, 5*time.Millisecond) {
		running := f.runningTasks(k)
		if len(running) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return errors.New("freezing: some tasks did not stop running")
		}
		for _, t := range running {
			if t.ctx != nil {
				t.ctx.Interrupt()
			}
		}
		time.Sleep(delay)
	}
}

// runningTasks lists the started tasks that may still run application
// code: neither held nor blocked in the kernel (a blocked task is held
// before it returns to the application, since the freezer is already set).
func (f *freezer) runningTasks(k *Kernel) []*Task {
	k.mu.Lock()
	var tasks []*Task
	for _, t := range k.tasks {
		if t.tg.started && !t.exited {
			tasks = append(tasks, t)
		}
	}
	k.mu.Unlock()
	f.mu.Lock()
	defer f.mu.Unlock()
	running := tasks[:0]
	for _, t := range tasks {
		if _, ok := f.held[t]; !ok && !t.blocked.Load() {
			running = append(running, t)
		}
	}
	return running
}

// Thaw lets the tasks of a frozen kernel run again; signals that arrived
// meanwhile are delivered now. Thawing a kernel that is not frozen does
// nothing.
func (k *Kernel) Thaw() {
	f := k.freezerOf()
	if f == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.frozen.Load() {
		return
	}
	f.frozen.Store(false)
	close(f.thaw)
}

// enterUser runs before every return to application code, in place of a
// bare deliverSignals (which holds the task while the kernel is frozen,
// before it takes any signal). It reports false when the task must exit.
func (t *Task) enterUser() bool {
	for {
		if !t.deliverSignals() {
			return false
		}
		// A freeze that began after the last look in deliverSignals
		// holds the task before it runs any application code.
		if !t.k.frozen() {
			return true
		}
	}
}

// holdWhileFrozen waits until the kernel is thawed, or until the task must
// exit: the process is exiting, or it got SIGKILL, which kills it now. The
// caller does not hold k.mu.
func (t *Task) holdWhileFrozen() {
	k := t.k
	f := k.freezerOf()
	if f == nil {
		return
	}
	f.mu.Lock()
	if !f.frozen.Load() {
		f.mu.Unlock()
		return
	}
	thaw := f.thaw
	f.held[t] = struct{}{}
	f.mu.Unlock()
	t.blocked.Store(true)
	defer func() {
		t.blocked.Store(false)
		f.mu.Lock()
		delete(f.held, t)
		f.mu.Unlock()
	}()
	for {
		k.mu.Lock()
		if t.tg.exiting || t.exitRequested || t.mustDieForExecLocked() {
			k.mu.Unlock()
			return
		}
		if (t.pending.set|t.tg.pending.set)&sigBit(linux.SIGKILL) != 0 {
			k.exitGroupLocked(t.tg, ExitStatus{Signo: linux.SIGKILL})
			k.mu.Unlock()
			return
		}
		k.mu.Unlock()
		select {
		case <-thaw:
			return
		case <-t.interrupt:
		}
	}
}
