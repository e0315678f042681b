package kernel

import (
	"bytes"
	"sync"
	"time"

	"bulwark.dev/pkg/abi/linux"
)

// ThreadGroup is a process.
type ThreadGroup struct {
	k         *Kernel
	pid       int32
	leader    *Task
	startTime time.Time

	// Fields below are protected by k.mu.
	tasks      []*Task // live tasks
	started    bool
	parent     *ThreadGroup // nil for processes created from outside
	children   []*ThreadGroup
	pgid, sid  int32
	exitSignal int  // sent to the parent on exit; 0 for none
	execed     bool // has called execve (setpgid by the parent: EACCES)

	exiting   bool  // group exit in progress: every task must exit
	subreaper bool  // PR_SET_CHILD_SUBREAPER: adopts orphaned descendants
	execing   *Task // a thread in execve: every other task must exit
	// tasksChanged is closed and replaced when a task leaves tasks.
	tasksChanged chan struct{}
	status       ExitStatus // valid once exiting
	zombie       bool       // every task has exited
	reaped       bool

	stopped    bool // group stop in effect
	stopSignal int
	stopReport bool // stop not yet reported to a WUNTRACED waiter
	contReport bool // continue not yet reported to a WCONTINUED waiter

	childEvent chan struct{} // closed and replaced when a child changes state
	done       chan struct{} // closed when the group becomes a zombie

	actions [linux.NumSignals]linux.SigAction
	pending pendingSignals // shared (process-directed) pending signals
	// sigEvent is closed when a signal is queued to the group or one of
	// its tasks (nil until someone watches).
	sigEvent chan struct{}

	childUser, childSys time.Duration         // CPU time of reaped children
	itimers             [3]*ktimer            // ITIMER_REAL, _VIRTUAL, _PROF; nil when never set
	timers              map[int32]*posixTimer // POSIX timers by id
	nextTimerID         int32
	parentTask          *Task // the thread that created the process (PR_SET_PDEATHSIG)

	// Protected by limitsMu (a leaf lock).
	limitsMu    sync.Mutex
	limits      [linux.RLIM_NLIMITS]Rlimit
	personality uint32
	dumpable    int32
	noNewPrivs  bool
	oomScoreAdj int32 // /proc/[pid]/oom_score_adj: kept and inherited, not acted on
}

func newThreadGroup(k *Kernel, pid int32) *ThreadGroup {
	return &ThreadGroup{
		k:          k,
		pid:        pid,
		startTime:  time.Now(),
		exitSignal: linux.SIGCHLD,
		childEvent: make(chan struct{}),
		done:       make(chan struct{}),

		tasksChanged: make(chan struct{}),
		limits:       defaultLimits,
		dumpable:     1,
	}
}

// PID is the thread group's id in the root PID namespace.
func (tg *ThreadGroup) PID() int32 { return tg.pid }

// Leader returns the thread group leader (the task whose tid is the pid).
func (tg *ThreadGroup) Leader() *Task { return tg.leader }

// Kernel returns the thread group's kernel.
func (tg *ThreadGroup) Kernel() *Kernel { return tg.k }

// StartTime is when the process was created.
func (tg *ThreadGroup) StartTime() time.Time { return tg.startTime }

// Wait blocks until every thread of the group has exited and returns its
// status. It may be called any number of times, from any goroutine.
func (tg *ThreadGroup) Wait() ExitStatus {
	<-tg.done
	tg.k.mu.Lock()
	defer tg.k.mu.Unlock()
	return tg.status
}

// Done returns a channel closed when the process has exited.
func (tg *ThreadGroup) Done() <-chan struct{} { return tg.done }

// PPID returns the parent's pid, or 0 if the process has no parent in the
// sandbox.
func (tg *ThreadGroup) PPID() int32 {
	tg.k.mu.Lock()
	defer tg.k.mu.Unlock()
	return tg.ppidLocked()
}

func (tg *ThreadGroup) ppidLocked() int32 {
	if tg.parent == nil {
		return 0
	}
	return tg.parent.pid
}

// ProcessGroupID returns the process group id.
func (tg *ThreadGroup) ProcessGroupID() int32 {
	tg.k.mu.Lock()
	defer tg.k.mu.Unlock()
	return tg.pgid
}

// SessionID returns the session id.
func (tg *ThreadGroup) SessionID() int32 {
	tg.k.mu.Lock()
	defer tg.k.mu.Unlock()
	return tg.sid
}

// stateLocked is the one-letter state of ps and /proc/[pid]/status.
func (tg *ThreadGroup) stateLocked() string {
	switch {
	case tg.zombie:
		return "Z"
	case tg.stopped:
		return "T"
	case tg.leader != nil && tg.leader.blocked.Load():
		return "S"
	}
	return "R"
}

// State returns the process state letter: R, S, T or Z.
func (tg *ThreadGroup) State() string {
	tg.k.mu.Lock()
	defer tg.k.mu.Unlock()
	return tg.stateLocked()
}

func (tg *ThreadGroup) infoLocked() ProcessInfo {
	t := tg.leader
	info := ProcessInfo{
		PID:       tg.pid,
		PPID:      tg.ppidLocked(),
		UID:       t.Credentials().RealUID,
		State:     tg.stateLocked(),
		StartTime: tg.startTime.UnixNano(),
		Cmd:       t.comm,
	}
	u, s := t.cpuTimes()
	info.CPUTime = int64(u + s)
	if !tg.zombie && t.mm != nil {
		info.Args = splitCmdline(t.mm.Cmdline())
	}
	return info
}

// splitCmdline splits NUL-separated argv bytes.
func splitCmdline(b []byte) []string {
	b = bytes.TrimRight(b, "\x00")
	if len(b) == 0 {
		return nil
	}
	var args []string
	for _, a := range bytes.Split(b, []byte{0}) {
		args = append(args, string(a))
	}
	return args
}

// notifyChildEventLocked wakes tasks of tg waiting in wait4/waitid.
func (tg *ThreadGroup) notifyChildEventLocked() {
	close(tg.childEvent)
	tg.childEvent = make(chan struct{})
}

// isInit reports whether tg is the sandbox's init.
func (tg *ThreadGroup) isInit() bool { return tg.pid == 1 }
