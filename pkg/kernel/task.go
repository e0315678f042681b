package kernel

import (
	"fmt"
	"sync/atomic"
	"time"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/kernel/auth"
	"bulwark.dev/pkg/mm"
	"bulwark.dev/pkg/platform"
	"bulwark.dev/pkg/vfs"
)

// Task is a thread. Syscall handlers receive the calling task.
//
// Fields without a note are used only by the task's own goroutine (or
// before it starts). Fields marked k.mu are written under Kernel.mu; the task
// itself may read those it alone writes without the lock.
type Task struct {
	k   *Kernel
	tg  *ThreadGroup
	tid int32
	ctx platform.Context // set at creation, never changed

	regs platform.Registers

	mm    *mm.MemoryManager // k.mu (written only by the task)
	files *fdTableRef       // k.mu (written only by the task)
	fs    *fsContextRef     // k.mu (written only by the task)
	comm  string            // k.mu
	creds atomic.Pointer[auth.Credentials]
	mask  linux.SignalSet // k.mu: blocked signals
	// realMask is the mask from before rt_sigtimedwait unblocked the
	// signals it waits for (0 outside it): those still count as blocked
	// for ignoring a signal on arrival.
	realMask linux.SignalSet // k.mu
	pending  pendingSignals  // k.mu: thread-directed pending signals

	// savedMask is restored after a handler frame or, without one, at the
	// next return to user mode (rt_sigsuspend).
	savedMask     linux.SignalSet // k.mu
	haveSavedMask bool            // k.mu

	vforkDone chan struct{} // k.mu: closed at exec or exit when the parent waits in vfork
	exited    bool          // k.mu

	interrupt chan struct{} // capacity 1: a signal may need attention
	blocked   atomic.Bool   // in Block (for ps)

	altStack      linux.SignalStack
	restartErr    linux.Errno // ERESTART* from the last syscall
	restartBlock  SyscallFn   // what restart_syscall runs
	clearChildTID uintptr
	robustList    uintptr
	pdeathSig     int  // k.mu
	exitCode      int  // for exit(2) of a single thread
	exitRequested bool // the task must leave the run loop

	userNanos, sysNanos atomic.Int64
	switchStart         atomic.Int64  // unix nanoseconds when the running application code was entered, 0 outside
	blockedNanos        time.Duration // time in Block during the current syscall
}

// Task implements vfs.Context.
var _ vfs.Context = (*Task)(nil)

func newTask(k *Kernel, tg *ThreadGroup, tid int32, ctx platform.Context) *Task {
	return &Task{k: k, tg: tg, tid: tid, ctx: ctx, interrupt: make(chan struct{}, 1)}
}

// Credentials returns the task's credentials. They must not be modified.
func (t *Task) Credentials() *auth.Credentials { return t.creds.Load() }

// SetCredentials installs new credentials (a fresh copy made with Fork).
func (t *Task) SetCredentials(c *auth.Credentials) { t.creds.Store(c) }

// CopyIn copies len(dst) bytes from the task's memory at addr (linux.EFAULT).
func (t *Task) CopyIn(addr uintptr, dst []byte) (int, error) {
	if t.mm == nil {
		return 0, linux.EFAULT
	}
	return t.mm.CopyIn(addr, dst)
}

// CopyOut copies src to the task's memory at addr (linux.EFAULT).
func (t *Task) CopyOut(addr uintptr, src []byte) (int, error) {
	if t.mm == nil {
		return 0, linux.EFAULT
	}
	return t.mm.CopyOut(addr, src)
}

// CopyInString reads a NUL-terminated string of at most max bytes
// (linux.ENAMETOOLONG beyond, linux.EFAULT on bad memory).
func (t *Task) CopyInString(addr uintptr, max int) (string, error) {
	if t.mm == nil {
		return "", linux.EFAULT
	}
	return t.mm.CopyInString(addr, max)
}

// FDTable returns the task's fd table.
func (t *Task) FDTable() *vfs.FDTable {
	if t.files == nil {
		return nil
	}
	return t.files.table
}

// FSContext returns the task's root, cwd and umask.
func (t *Task) FSContext() *vfs.FSContext {
	if t.fs == nil {
		return nil
	}
	return t.fs.ctx
}

// MemoryManager returns the task's address space.
func (t *Task) MemoryManager() *mm.MemoryManager { return t.mm }

// Kernel returns the task's kernel.
func (t *Task) Kernel() *Kernel { return t.k }

// ThreadGroup returns the task's process.
func (t *Task) ThreadGroup() *ThreadGroup { return t.tg }

// ThreadID is the task's tid in its own PID namespace.
func (t *Task) ThreadID() int32 { return t.tid }

// PID returns the id of the task's process (getpid).
func (t *Task) PID() int32 { return t.tg.pid }

// PPID returns the id of the parent process, 0 if it has none (getppid).
func (t *Task) PPID() int32 { return t.tg.PPID() }

// Regs returns the task's registers, which a syscall handler may change
// (arch_prctl, execve, rt_sigreturn). The value it returns is stored in rax
// afterwards.
func (t *Task) Regs() *platform.Registers { return &t.regs }

// Debugf writes to the sandbox's debug log with the task's tid prefixed.
func (t *Task) Debugf(format string, v ...any) {
	if t.k.cfg.Log != nil {
		t.k.cfg.Log.Printf("[%5d] %s", t.tid, fmt.Sprintf(format, v...))
	}
}

// Comm returns the task's name (at most 15 bytes).
func (t *Task) Comm() string {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	return t.comm
}

// SetComm sets the task's name, truncated to 15 bytes (PR_SET_NAME).
func (t *Task) SetComm(name string) {
	if len(name) > 15 {
		name = name[:15]
	}
	t.k.mu.Lock()
	t.comm = name
	t.k.mu.Unlock()
}

// SetClearChildTID records the address cleared when the task exits
// (set_tid_address, CLONE_CHILD_CLEARTID).
func (t *Task) SetClearChildTID(addr uintptr) { t.clearChildTID = addr }

// SetRobustList records the robust futex list head (set_robust_list).
func (t *Task) SetRobustList(addr uintptr) { t.robustList = addr }

// SetParentDeathSignal records PR_SET_PDEATHSIG: the signal the process
// gets when the thread that created it exits.
func (t *Task) SetParentDeathSignal(sig int) {
	t.k.mu.Lock()
	t.pdeathSig = sig
	t.k.mu.Unlock()
}

// ParentDeathSignal returns the PR_SET_PDEATHSIG value.
func (t *Task) ParentDeathSignal() int {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	return t.pdeathSig
}

// cpuTimes returns the user and system time the task has used.
func (t *Task) cpuTimes() (user, sys time.Duration) {
	return time.Duration(t.userNanos.Load()), time.Duration(t.sysNanos.Load())
}

// CPUTimes returns the user and system CPU time of the task.
func (t *Task) CPUTimes() (user, sys time.Duration) { return t.cpuTimes() }

// ProcessCPUTimes returns the user and system CPU time of the task's
// process and of its reaped children.
func (t *Task) ProcessCPUTimes() (user, sys, childUser, childSys time.Duration) {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	for _, tt := range t.tg.tasks {
		u, s := tt.cpuTimes()
		user += u
		sys += s
	}
	return user, sys, t.tg.childUser, t.tg.childSys
}
