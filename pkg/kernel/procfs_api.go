package kernel

import (
	"time"

	"bulwark.dev/pkg/abi/linux"
)

// Read-only accessors for /proc (pkg/fs/proc): per-thread state and a few
// process and kernel counters.

// ThreadSnapshot is a consistent view of one thread, for /proc/[pid]/task.
type ThreadSnapshot struct {
	TID               int32
	Comm              string
	State             string // R, S, T or Z
	UserTime, SysTime time.Duration
	// SigPending are the thread-directed pending signals, SigBlocked the
	// thread's signal mask.
	SigPending, SigBlocked linux.SignalSet
}

// ThreadIDs returns the tids of the process's live threads, the leader
// first.
func (tg *ThreadGroup) ThreadIDs() []int32 {
	tg.k.mu.Lock()
	defer tg.k.mu.Unlock()
	ids := make([]int32, 0, len(tg.tasks))
	for _, t := range tg.tasks {
		ids = append(ids, t.tid)
	}
	return ids
}

// Thread returns the state of the process's live thread tid (or of the
// leader of an exited process); false if there is none.
func (tg *ThreadGroup) Thread(tid int32) (ThreadSnapshot, bool) {
	tg.k.mu.Lock()
	defer tg.k.mu.Unlock()
	t := tg.taskLocked(tid)
	if t == nil {
		return ThreadSnapshot{}, false
	}
	s := ThreadSnapshot{TID: t.tid, Comm: t.comm, SigPending: t.pending.set, SigBlocked: t.mask}
	s.UserTime, s.SysTime = t.cpuTimes()
	switch {
	case tg.zombie:
		s.State = "Z"
	case tg.stopped:
		s.State = "T"
	case t.blocked.Load():
		s.State = "S"
	default:
		s.State = "R"
	}
	return s, true
}

// SetThreadComm sets the name of thread tid of the process (writes to
// /proc/[pid]/task/[tid]/comm); false if there is no such thread.
func (tg *ThreadGroup) SetThreadComm(tid int32, name string) bool {
	tg.k.mu.Lock()
	t := tg.taskLocked(tid)
	tg.k.mu.Unlock()
	if t == nil {
		return false
	}
	t.SetComm(name)
	return true
}

// taskLocked returns thread tid of tg, the leader of a zombie, or nil.
func (tg *ThreadGroup) taskLocked(tid int32) *Task {
	for _, t := range tg.tasks {
		if t.tid == tid {
			return t
		}
	}
	if tg.zombie && tg.leader != nil && tg.leader.tid == tid {
		return tg.leader
	}
	return nil
}

// ExitSignal is the signal the process sends its parent when it exits
// (field 38 of /proc/[pid]/stat).
func (tg *ThreadGroup) ExitSignal() int {
	tg.k.mu.Lock()
	defer tg.k.mu.Unlock()
	return tg.exitSignal
}

// NoNewPrivs reports the process's PR_SET_NO_NEW_PRIVS bit.
func (tg *ThreadGroup) NoNewPrivs() bool {
	tg.limitsMu.Lock()
	defer tg.limitsMu.Unlock()
	return tg.noNewPrivs
}

// LastPID is the last pid handed out (the "processes" count of /proc/stat
// and the last field of /proc/loadavg).
func (k *Kernel) LastPID() int32 {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.lastPID
}
