package kernel

import "bulwark.dev/pkg/abi/linux"

// Orphaned process groups and the parent-death signal.

// orphanedPgrpLocked reports whether process group pgid is orphaned: no
// live member has a parent in another group of the same session. A member
// whose parent is outside the sandbox counts as having one (the sandbox's
// init is started by a runtime that controls its group).
func (k *Kernel) orphanedPgrpLocked(pgid int32) bool {
	for _, tg := range k.tgs {
		if tg.zombie || tg.pgid != pgid {
			continue
		}
		p := tg.parent
		if p == nil || (p.pgid != pgid && p.sid == tg.sid) {
			return false
		}
	}
	return true
}

// pgrpHasStoppedLocked reports whether a member of pgid is stopped.
func (k *Kernel) pgrpHasStoppedLocked(pgid int32) bool {
	for _, tg := range k.tgs {
		if !tg.zombie && tg.pgid == pgid && tg.stopped {
			return true
		}
	}
	return false
}

// hangUpIfOrphanedLocked sends SIGHUP and then SIGCONT to every member of
// pgid when the group is orphaned and has a stopped member, as POSIX asks
// when a group becomes orphaned.
func (k *Kernel) hangUpIfOrphanedLocked(pgid int32) {
	if !k.orphanedPgrpLocked(pgid) || !k.pgrpHasStoppedLocked(pgid) {
		return
	}
	for _, sig := range []int{linux.SIGHUP, linux.SIGCONT} {
		for _, tg := range k.sortedTGsLocked() {
			if !tg.zombie && tg.pgid == pgid {
				k.sendGroupLocked(tg, kernelInfo(sig), sendFromSandbox)
			}
		}
	}
}

// orphanCheckOnExitLocked runs when tg exited (it is a zombie and its
// children have their new parent): tg's own group, and its children's
// groups, may have just become orphaned. Like Linux, only a group that had
// a parent in another group of the session through tg counts as newly
// orphaned.
func (k *Kernel) orphanCheckOnExitLocked(tg *ThreadGroup, children []*ThreadGroup) {
	if p := tg.parent; p != nil && p.pgid != tg.pgid && p.sid == tg.sid {
		k.hangUpIfOrphanedLocked(tg.pgid)
	}
	done := map[int32]bool{tg.pgid: true}
	for _, c := range children {
		if c.zombie || done[c.pgid] || c.sid != tg.sid {
			continue
		}
		done[c.pgid] = true
		k.hangUpIfOrphanedLocked(c.pgid)
	}
}

// parentThreadExitedLocked runs when the task t has left its thread group:
// the processes t created get another thread of the group as parent (or
// the new parent process's leader later, when t was the last) and each of
// their threads that asked with PR_SET_PDEATHSIG gets its signal.
func (k *Kernel) parentThreadExitedLocked(t *Task) {
	var heir *Task
	if len(t.tg.tasks) > 0 {
		heir = t.tg.tasks[0]
	}
	for _, c := range t.tg.children {
		if c.parentTask != t {
			continue
		}
		c.parentTask = heir
		for _, ct := range c.tasks {
			if ct.pdeathSig != 0 && !c.zombie {
				info := userInfo(ct.pdeathSig, t.tg.pid, t.Credentials().RealUID)
				k.sendGroupLocked(c, info, sendFromSandbox)
			}
		}
	}
}
