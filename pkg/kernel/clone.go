package kernel

import (
	"fmt"

	"bulwark.dev/pkg/abi/linux"
)

// CloneOptions are the arguments of clone(2), fork(2) and vfork(2).
type CloneOptions struct {
	Flags     uint64  // CLONE_* | exit signal
	Stack     uintptr // new rsp, 0 to keep the parent's
	ParentTID uintptr // CLONE_PARENT_SETTID
	ChildTID  uintptr // CLONE_CHILD_SETTID, CLONE_CHILD_CLEARTID
	TLS       uintptr // CLONE_SETTLS: the child's fs base
}

// unsupportedClone are the flags that fail with EINVAL for now: threads and
// the sharing that only makes sense with them, and new namespaces.
const unsupportedClone = linux.CLONE_THREAD | linux.CLONE_SIGHAND | linux.CLONE_NEWNS |
	linux.CLONE_NEWCGROUP | linux.CLONE_NEWUTS | linux.CLONE_NEWIPC | linux.CLONE_NEWUSER |
	linux.CLONE_NEWPID | linux.CLONE_NEWNET | linux.CLONE_PIDFD

// Clone creates a child process and returns its pid. CLONE_VM is only
// supported together with CLONE_VFORK (the child borrows the address space
// until it execs or exits, while the parent waits).
func (t *Task) Clone(opts CloneOptions) (int32, error) {
	flags := opts.Flags
	if flags&unsupportedClone != 0 {
		return 0, linux.EINVAL
	}
	if flags&linux.CLONE_VM != 0 && flags&linux.CLONE_VFORK == 0 {
		return 0, linux.EINVAL
	}
	exitSig := int(flags & linux.CSIGNAL)
	if exitSig != 0 && !validSignal(exitSig) {
		return 0, linux.EINVAL
	}
	k := t.k

	k.mu.Lock()
	pendingKill := t.interruptedLocked() && (t.tg.exiting ||
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
	tg.pgid, tg.sid = t.tg.pgid, t.tg.sid
	tg.actions = t.tg.actions
	tg.started = true
	t.tg.limitsMu.Lock()
	tg.limits, tg.personality, tg.dumpable, tg.noNewPrivs =
		t.tg.limits, t.tg.personality, t.tg.dumpable, t.tg.noNewPrivs
	t.tg.limitsMu.Unlock()

	child := newTask(k, tg, pid, ctx)
	child.regs = t.regs
	child.regs.Rax = 0
	if opts.Stack != 0 {
		child.regs.Rsp = uint64(opts.Stack)
	}
	if flags&linux.CLONE_SETTLS != 0 {
		child.regs.Fs_base = uint64(opts.TLS)
	}
	child.mm, child.files, child.fs = mm, files, fs
	child.comm = t.comm
	child.creds.Store(t.Credentials())
	child.mask = t.mask
	child.altStack = t.altStack
	if flags&linux.CLONE_CHILD_CLEARTID != 0 {
		child.clearChildTID = opts.ChildTID
	}
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

	if flags&linux.CLONE_CHILD_SETTID != 0 {
		v := pid
		if err := CopyObjectOut(child, opts.ChildTID, &v); err != nil {
			t.Debugf("clone: CLONE_CHILD_SETTID: %v", err)
		}
	}
	if flags&linux.CLONE_PARENT_SETTID != 0 {
		v := pid
		_ = CopyObjectOut(t, opts.ParentTID, &v)
	}
	k.startTask(child)

	if vforkDone != nil {
		t.waitVfork(vforkDone)
	}
	return pid, nil
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
