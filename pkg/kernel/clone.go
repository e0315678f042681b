package kernel

import (
	"fmt"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/mm"
	"bulwark.dev/pkg/platform"
)

// CloneOptions are the arguments of clone(2), fork(2) and vfork(2).
type CloneOptions struct {
	Flags     uint64  // CLONE_* | exit signal
	Stack     uintptr // new rsp, 0 to keep the parent's
	ParentTID uintptr // CLONE_PARENT_SETTID
	ChildTID  uintptr // CLONE_CHILD_SETTID, CLONE_CHILD_CLEARTID
	TLS       uintptr // CLONE_SETTLS: the child's fs base
}

// unsupportedClone are the flags that fail with EINVAL for now: new
// namespaces and pidfds.
const unsupportedClone = linux.CLONE_NEWNS |
	linux.CLONE_NEWCGROUP | linux.CLONE_NEWUTS | linux.CLONE_NEWIPC | linux.CLONE_NEWUSER |
	linux.CLONE_NEWPID | linux.CLONE_NEWNET | linux.CLONE_PIDFD

// checkCloneFlags applies Linux's rules on flag combinations. CLONE_SIGHAND
// without CLONE_THREAD (two processes sharing handlers) is not supported.
func checkCloneFlags(flags uint64) error {
	switch {
	case flags&unsupportedClone != 0:
		return linux.EINVAL
	case flags&linux.CLONE_THREAD != 0 && flags&linux.CLONE_SIGHAND == 0:
		return linux.EINVAL
	case flags&linux.CLONE_SIGHAND != 0 && flags&linux.CLONE_VM == 0:
		return linux.EINVAL
	case flags&linux.CLONE_SIGHAND != 0 && flags&linux.CLONE_THREAD == 0:
		return linux.EINVAL
	}
	return nil
}

// Clone creates a child process, or with CLONE_THREAD a thread of the
// caller's process, and returns its id. With CLONE_VM the child shares the
// address space (with CLONE_VFORK the parent waits until it execs or exits).
func (t *Task) Clone(opts CloneOptions) (int32, error) {
	flags := opts.Flags
	if err := checkCloneFlags(flags); err != nil {
		return 0, err
	}
	exitSig := int(flags & linux.CSIGNAL)
	if flags&linux.CLONE_THREAD != 0 {
		exitSig = 0
	}
	if exitSig != 0 && !validSignal(exitSig) {
		return 0, linux.EINVAL
	}
	k := t.k

	k.mu.Lock()
	pendingKill := t.interruptedLocked() && (t.tg.exiting || t.tg.execing != nil ||
		(t.pending.set|t.tg.pending.set)&sigBit(linux.SIGKILL) != 0)
	k.mu.Unlock()
	if pendingKill {
		return 0, linux.ERESTARTNOINTR
	}

	// Resources first, outside the kernel lock.
	ctx, err := k.cfg.Platform.NewContext()
	if err != nil {
		t.Debugf("clone: creating a platform context: %v", err)
		return 0, linux.EAGAIN
	}
	mm := t.mm
	if flags&linux.CLONE_VM != 0 {
		mm.IncUsers()
	} else {
		if mm, err = t.mm.Fork(); err != nil {
			ctx.Release()
			t.Debugf("clone: forking the address space: %v", err)
			return 0, linux.ENOMEM
		}
	}
	var files *fdTableRef
	if flags&linux.CLONE_FILES != 0 {
		files = t.files
		files.incRef()
	} else {
		files = newFDTableRef(t.files.table.Fork())
	}
	var fs *fsContextRef
	if flags&linux.CLONE_FS != 0 {
		fs = t.fs
		fs.incRef()
	} else {
		fs = newFSContextRef(t.fs.ctx.Fork())
	}

	k.mu.Lock()
	pid, err := k.allocPIDLocked()
	if err != nil {
		k.mu.Unlock()
		mm.DecUsers()
		files.decRef()
		fs.decRef()
		ctx.Release()
		return 0, err
	}
	if flags&linux.CLONE_THREAD != 0 {
		child := t.newThreadLocked(pid, ctx, opts, mm, files, fs)
		k.mu.Unlock()
		return t.finishClone(child, opts, nil)
	}
	parent := t.tg
	if flags&linux.CLONE_PARENT != 0 {
		if parent.parent == nil {
			// Like the init of a PID namespace, a process without a
			// parent in the sandbox cannot give its children away.
			k.mu.Unlock()
			mm.DecUsers()
			files.decRef()
			fs.decRef()
			ctx.Release()
			return 0, linux.EINVAL
		}
		parent = parent.parent
	}
	tg := newThreadGroup(k, pid)
	tg.exitSignal = exitSig
	tg.parent = parent
	tg.parentTask = t
	if parent != t.tg {
		tg.parentTask = parent.leader
	}
	tg.pgid, tg.sid = t.tg.pgid, t.tg.sid
	tg.actions = t.tg.actions
	tg.started = true
	t.tg.limitsMu.Lock()
	tg.limits, tg.personality, tg.dumpable, tg.noNewPrivs, tg.oomScoreAdj =
		t.tg.limits, t.tg.personality, t.tg.dumpable, t.tg.noNewPrivs, t.tg.oomScoreAdj
	t.tg.limitsMu.Unlock()

	child := t.newChildTask(tg, pid, ctx, opts, mm, files, fs)
	var vforkDone chan struct{}
	if flags&linux.CLONE_VFORK != 0 {
		vforkDone = make(chan struct{})
		child.vforkDone = vforkDone
	}
	tg.leader = child
	tg.tasks = []*Task{child}
	parent.children = append(parent.children, tg)
	k.tgs[pid] = tg
	k.tasks[pid] = child
	k.mu.Unlock()
	return t.finishClone(child, opts, vforkDone)
}

// newChildTask creates the task of a clone, a copy of t in tg. Requires k.mu.
func (t *Task) newChildTask(tg *ThreadGroup, tid int32, ctx platform.Context, opts CloneOptions,
	m *mm.MemoryManager, files *fdTableRef, fs *fsContextRef) *Task {
	flags := opts.Flags
	child := newTask(t.k, tg, tid, ctx)
	child.regs = t.regs
	child.regs.Rax = 0
	if opts.Stack != 0 {
		child.regs.Rsp = uint64(opts.Stack)
	}
	if flags&linux.CLONE_SETTLS != 0 {
		child.regs.Fs_base = uint64(opts.TLS)
	}
	child.mm, child.files, child.fs = m, files, fs
	child.comm = t.comm
	child.creds.Store(t.Credentials())
	child.mask = t.mask
	child.altStack = t.altStack
	if flags&linux.CLONE_VM != 0 && flags&linux.CLONE_VFORK == 0 {
		// A new stack is expected: the alternate stack is not inherited.
		child.altStack = linux.SignalStack{Flags: linux.SS_DISABLE}
	}
	if flags&linux.CLONE_CHILD_CLEARTID != 0 {
		child.clearChildTID = opts.ChildTID
	}
	return child
}

// newThreadLocked adds a thread to t's process (CLONE_THREAD). Requires
// k.mu.
func (t *Task) newThreadLocked(tid int32, ctx platform.Context, opts CloneOptions,
	m *mm.MemoryManager, files *fdTableRef, fs *fsContextRef) *Task {
	child := t.newChildTask(t.tg, tid, ctx, opts, m, files, fs)
	t.tg.tasks = append(t.tg.tasks, child)
	t.k.tasks[tid] = child
	return child
}

// finishClone writes the tids the flags ask for, copies the FPU state and
// starts the child; with vforkDone it waits for the child to let go of
// the address space.
func (t *Task) finishClone(child *Task, opts CloneOptions, vforkDone chan struct{}) (int32, error) {
	tid := child.tid
	if opts.Flags&linux.CLONE_CHILD_SETTID != 0 {
		v := tid
		if err := CopyObjectOut(child, opts.ChildTID, &v); err != nil {
			t.Debugf("clone: CLONE_CHILD_SETTID: %v", err)
		}
	}
	if opts.Flags&linux.CLONE_PARENT_SETTID != 0 {
		v := tid
		_ = CopyObjectOut(t, opts.ParentTID, &v)
	}
	t.copyFPStateTo(child)
	t.k.startTask(child)

	if vforkDone != nil {
		t.waitVfork(vforkDone)
	}
	return tid, nil
}

// waitVfork waits until the vfork child execs or exits; only SIGKILL (or
// a group exit) ends the wait early, like Linux's killable wait.
func (t *Task) waitVfork(done <-chan struct{}) {
	for {
		if t.Block(done) == nil {
			return
		}
		t.k.mu.Lock()
		fatal := t.tg.exiting || (t.pending.set|t.tg.pending.set)&sigBit(linux.SIGKILL) != 0
		t.k.mu.Unlock()
		if fatal {
			return
		}
		// Another signal is pending: it waits until the child lets go.
		select {
		case <-done:
			return
		case <-t.interrupt:
		}
	}
}

// String describes the clone flags for debugging.
func (o CloneOptions) String() string {
	return fmt.Sprintf("flags=%#x stack=%#x ptid=%#x ctid=%#x tls=%#x",
		o.Flags, o.Stack, o.ParentTID, o.ChildTID, o.TLS)
}
