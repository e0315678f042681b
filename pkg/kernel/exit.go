package kernel

import (
	"bulwark.dev/pkg/abi/linux"
)

// Exit implements exit(2): the calling thread ends with code. The process
// ends with it when it is the last thread.
func (t *Task) Exit(code int) {
	t.exitCode = code & 0xff
	t.exitRequested = true
}

// ExitGroup implements exit_group(2): every thread of the process ends and
// the process reports code.
func (t *Task) ExitGroup(code int) {
	t.k.mu.Lock()
	t.k.exitGroupLocked(t.tg, ExitStatus{Code: code & 0xff})
	t.k.mu.Unlock()
	t.exitRequested = true
}

// exitGroupLocked starts the exit of every task of tg with status, unless
// an exit is already under way.
func (k *Kernel) exitGroupLocked(tg *ThreadGroup, status ExitStatus) {
	if tg.exiting {
		return
	}
	tg.exiting = true
	tg.status = status
	tg.stopped = false
	tg.wakeAllLocked()
}

// exit releases the task's resources and, for the last task of its
// process, turns the process into a zombie and tells the parent. It runs on
// the task goroutine (or for a never started task, on the caller's).
func (t *Task) exit() {
	k := t.k
	if t.mm != nil {
		t.exitRobustList()
	}
	if t.clearChildTID != 0 && t.mm != nil {
		// Like Linux's mm_release: the word is cleared and one waiter
		// woken (pthread_join), unless other users of the address space
		// are gone anyway.
		var zero uint32
		if CopyObjectOut(t, t.clearChildTID, &zero) == nil {
			t.FutexWake(t.clearChildTID, false, 1, futexBitsetAny)
		}
	}

	k.mu.Lock()
	if !t.tg.exiting && len(t.tg.tasks) == 1 && t.tg.execing == nil {
		// The last thread: the process reports the leader's exit code
		// (threads leaving with exit(2) before do not count).
		t.tg.exiting = true
		code := t.exitCode
		if l := t.tg.leader; l != nil && l != t && l.exited {
			code = l.exitCode
		}
		t.tg.status = ExitStatus{Code: code}
	}
	t.exited = true
	t.releaseVforkLocked()
	mm, files, fs := t.mm, t.files, t.fs
	t.mm, t.files, t.fs = nil, nil, nil
	k.mu.Unlock()

	if files != nil {
		files.decRef()
	}
	if fs != nil {
		fs.decRef()
	}
	t.exitNotify()
	// The address space and the platform context go last: destroying a
	// stub process takes the host a while, which the parent's wait need
	// not see (nothing the application can observe depends on it).
	if mm != nil {
		mm.DecUsers()
	}
	if t.ctx != nil {
		t.ctx.Release()
	}
}

// exitNotify removes the exited task from its process and, for the last
// one, makes the process a zombie and tells the parent.
func (t *Task) exitNotify() {
	k := t.k
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.tasks, t.tid)
	tg := t.tg
	for i, tt := range tg.tasks {
		if tt == t {
			tg.tasks = append(tg.tasks[:i], tg.tasks[i+1:]...)
			break
		}
	}
	close(tg.tasksChanged)
	tg.tasksChanged = make(chan struct{})
	k.parentThreadExitedLocked(t)
	if len(tg.tasks) == 0 {
		k.groupExitedLocked(tg)
	}
}

// releaseVforkLocked lets a parent waiting in vfork go on.
func (t *Task) releaseVforkLocked() {
	if t.vforkDone != nil {
		close(t.vforkDone)
		t.vforkDone = nil
	}
}

// groupExitedLocked makes tg a zombie after its last task exited: orphans go
// to the nearest subreaper ancestor or the init, the parent is notified, Wait returns, and with the init gone
// every other process is killed like in a Linux PID namespace.
func (k *Kernel) groupExitedLocked(tg *ThreadGroup) {
	tg.zombie = true
	tg.stopped = false
	tg.stopTimersLocked()
	tg.pending.discard(^linux.SignalSet(0))

	init := k.tgs[1]
	if tg == init {
		for _, other := range k.tgs {
			if other != tg && !other.zombie {
				k.sendGroupLocked(other, kernelInfo(linux.SIGKILL), sendForced)
			}
		}
		init = nil
	}
	children := tg.children
	reaper := k.newReaperLocked(tg, init)
	for _, c := range children {
		k.reparentLocked(c, reaper)
	}
	tg.children = nil
	k.orphanCheckOnExitLocked(tg, children)

	close(tg.done)
	k.notifyParentExitLocked(tg)
}

// reparentLocked gives child a new parent (nil: none, it is reaped as soon
// as it exits).
func (k *Kernel) reparentLocked(child, parent *ThreadGroup) {
	child.parent = parent
	if parent == nil || parent.zombie {
		child.parent = nil
		if child.zombie {
			k.reapLocked(child)
		}
		return
	}
	parent.children = append(parent.children, child)
	child.parentTask = parent.leader
	child.exitSignal = linux.SIGCHLD
	if child.zombie {
		if parent.autoReapLocked() {
			k.reapLocked(child)
		} else {
			k.sendGroupLocked(parent, childInfo(child, linux.SIGCHLD), sendForced)
		}
	}
	parent.notifyChildEventLocked()
}

// autoReapLocked reports whether tg's exited children are reaped without a
// wait: SIGCHLD ignored or SA_NOCLDWAIT.
func (tg *ThreadGroup) autoReapLocked() bool {
	act := tg.actions[linux.SIGCHLD-1]
	return act.Handler == linux.SIG_IGN || act.Flags&linux.SA_NOCLDWAIT != 0
}

// notifyParentExitLocked sends the exit signal to tg's parent and wakes its
// waiters, or reaps tg at once when nobody will wait for it.
func (k *Kernel) notifyParentExitLocked(tg *ThreadGroup) {
	p := tg.parent
	if p == nil {
		k.reapLocked(tg)
		return
	}
	sig := tg.exitSignal
	reap := false
	if sig == linux.SIGCHLD && p.autoReapLocked() {
		reap = true
		if p.actions[linux.SIGCHLD-1].Handler == linux.SIG_IGN {
			sig = 0
		}
	}
	if sig != 0 {
		k.sendGroupLocked(p, childInfo(tg, sig), sendForced)
	}
	if reap {
		k.reapLocked(tg)
	}
	p.notifyChildEventLocked()
}

// notifyParentStopLocked tells the parent that tg stopped or continued
// (SIGCHLD unless the parent set SA_NOCLDSTOP) and wakes its waiters.
func (k *Kernel) notifyParentStopLocked(tg *ThreadGroup, code int32, sig int) {
	p := tg.parent
	if p == nil {
		return
	}
	if p.actions[linux.SIGCHLD-1].Flags&linux.SA_NOCLDSTOP == 0 {
		info := childInfo(tg, linux.SIGCHLD)
		info.Code = code
		putInt32(info.Data[linux.SigInfoStatusOff:], int32(sig))
		k.sendGroupLocked(p, info, sendForced)
	}
	p.notifyChildEventLocked()
}

// reapLocked removes the zombie tg from the sandbox and from its parent.
func (k *Kernel) reapLocked(tg *ThreadGroup) {
	if tg.reaped {
		return
	}
	tg.reaped = true
	delete(k.tgs, tg.pid)
	if p := tg.parent; p != nil {
		for i, c := range p.children {
			if c == tg {
				p.children = append(p.children[:i], p.children[i+1:]...)
				break
			}
		}
		u, s := tg.leader.cpuTimes()
		p.childUser += u + tg.childUser
		p.childSys += s + tg.childSys
		p.notifyChildEventLocked()
	}
}
