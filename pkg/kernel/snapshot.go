package kernel

import (
	"time"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/kernel/auth"
	"bulwark.dev/pkg/mm"
	"bulwark.dev/pkg/vfs"
)

// ProcessSnapshot is a consistent view of a process, for /proc and ps.
// MM, FDTable and FSContext are nil once the process has exited; they may
// be released at any time after the snapshot is taken, so use them at
// once and only for reading.
type ProcessSnapshot struct {
	PID, PPID, PGID, SID int32
	State                string // R, S, T or Z
	Comm                 string
	Creds                *auth.Credentials
	MM                   *mm.MemoryManager
	FDTable              *vfs.FDTable
	FSContext            *vfs.FSContext
	Threads              int
	StartTime            time.Time
	UserTime, SysTime    time.Duration
	ChildUser, ChildSys  time.Duration

	// Signal state: thread- and process-directed pending signals, the
	// blocked set, and the signals ignored or caught by a handler.
	SigPending, SigShared, SigBlocked, SigIgnored, SigCaught linux.SignalSet
}

// Snapshot returns the process's current state.
func (tg *ThreadGroup) Snapshot() ProcessSnapshot {
	k := tg.k
	k.mu.Lock()
	defer k.mu.Unlock()
	t := tg.leader
	s := ProcessSnapshot{
		PID: tg.pid, PPID: tg.ppidLocked(), PGID: tg.pgid, SID: tg.sid,
		State: tg.stateLocked(), Comm: t.comm, Creds: t.Credentials(),
		MM: t.mm, FDTable: t.FDTable(), FSContext: t.FSContext(),
		Threads: len(tg.tasks), StartTime: tg.startTime,
		ChildUser: tg.childUser, ChildSys: tg.childSys,
		SigPending: t.pending.set, SigShared: tg.pending.set, SigBlocked: t.mask,
	}
	for _, tt := range tg.tasks {
		u, sys := tt.cpuTimes()
		s.UserTime += u
		s.SysTime += sys
	}
	if tg.zombie {
		s.UserTime, s.SysTime = t.cpuTimes()
	}
	for i, a := range tg.actions {
		switch a.Handler {
		case linux.SIG_DFL:
		case linux.SIG_IGN:
			s.SigIgnored |= sigBit(i + 1)
		default:
			s.SigCaught |= sigBit(i + 1)
		}
	}
	return s
}
