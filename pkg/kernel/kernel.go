package kernel

import (
	"fmt"
	"sort"
	"sync"
	"time"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/vdso"
)

// Lock order (outer first):
//
//	Kernel.mu → ThreadGroup.limitsMu
//	futexTable.mu → mm locks (reading futex words); never with Kernel.mu
//
// Kernel.mu protects the task tree and all signal state: the pid tables,
// parent/child links, process groups and sessions, every thread group's
// exit/stop/wait-report state, signal actions, pending signals and masks,
// and the fields of Task documented as "k.mu". Fields a task's own goroutine
// writes under k.mu may be read by that goroutine without it. Memory managers,
// fd tables and files have their own locks and never call back into the
// kernel, so they may be used with or without k.mu held.

// maxPID is the largest pid handed out before wrapping (Linux's pid_max on
// 64-bit hosts).
const maxPID = 1 << 22

// Kernel is one sandbox's kernel.
type Kernel struct {
	cfg      Config
	bootTime time.Time

	mu      sync.Mutex
	tasks   map[int32]*Task        // k.mu: live tasks by tid
	tgs     map[int32]*ThreadGroup // k.mu: thread groups by pid, zombies included
	lastPID int32                  // k.mu
	ttys    map[uint64]*terminal   // k.mu: job-control state of terminals (tty.go)

	futexes futexTable // futex waiters

	running sync.WaitGroup // task goroutines
	unknown sync.Map       // names of unimplemented syscalls already logged
	vdso    *vdso.VDSO     // mapped into every new image; nil without a memory file
}

// New creates a kernel with a root PID namespace and no tasks.
func New(cfg Config) (*Kernel, error) {
	if cfg.Platform == nil {
		return nil, fmt.Errorf("creating kernel: no platform")
	}
	if cfg.Syscalls == nil {
		return nil, fmt.Errorf("creating kernel: no syscall table")
	}
	if cfg.NumCPU <= 0 {
		cfg.NumCPU = 1
	}
	if cfg.Release == "" {
		cfg.Release = "5.15.0-bulwark"
	}
	if cfg.Version == "" {
		cfg.Version = "#1 SMP Bulwark"
	}
	if cfg.Hostname == "" {
		cfg.Hostname = "localhost"
	}
	k := &Kernel{
		cfg:      cfg,
		bootTime: time.Now(),
		tasks:    map[int32]*Task{},
		tgs:      map[int32]*ThreadGroup{},
	}
	if cfg.MemoryFile != nil {
		v, err := vdso.New(cfg.MemoryFile, k.bootTime)
		if err != nil {
			return nil, fmt.Errorf("creating kernel: %w", err)
		}
		k.vdso = v
	}
	return k, nil
}

// Config returns the kernel's configuration (with defaults filled in).
func (k *Kernel) Config() Config { return k.cfg }

// Uptime is the time since the kernel was created: CLOCK_MONOTONIC and
// CLOCK_BOOTTIME of the sandbox.
func (k *Kernel) Uptime() time.Duration { return time.Since(k.bootTime) }

// BootTime is when the kernel was created.
func (k *Kernel) BootTime() time.Time { return k.bootTime }

// logf writes to the configured log, if any.
func (k *Kernel) logf(format string, v ...any) {
	if k.cfg.Log != nil {
		k.cfg.Log.Printf(format, v...)
	}
}

// allocPIDLocked returns an unused pid: not a live or zombie task's id nor
// the id of a process group or session still in use. Requires k.mu.
func (k *Kernel) allocPIDLocked() (int32, error) {
	inUse := func(pid int32) bool {
		if _, ok := k.tgs[pid]; ok {
			return true
		}
		if _, ok := k.tasks[pid]; ok {
			return true
		}
		for _, tg := range k.tgs {
			if tg.pgid == pid || tg.sid == pid {
				return true
			}
		}
		return false
	}
	pid := k.lastPID
	for i := 0; i < maxPID; i++ {
		pid++
		if pid >= maxPID {
			pid = 1
		}
		if !inUse(pid) {
			k.lastPID = pid
			return pid, nil
		}
	}
	return 0, linux.EAGAIN
}

// ThreadGroup returns the process pid (zombies included) or nil.
func (k *Kernel) ThreadGroup(pid int32) *ThreadGroup {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.tgs[pid]
}

// ThreadGroups returns every process, zombies included, in pid order.
func (k *Kernel) ThreadGroups() []*ThreadGroup {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.sortedTGsLocked()
}

func (k *Kernel) sortedTGsLocked() []*ThreadGroup {
	tgs := make([]*ThreadGroup, 0, len(k.tgs))
	for _, tg := range k.tgs {
		tgs = append(tgs, tg)
	}
	sort.Slice(tgs, func(i, j int) bool { return tgs[i].pid < tgs[j].pid })
	return tgs
}

// Start runs a created thread group.
func (k *Kernel) Start(tg *ThreadGroup) {
	k.mu.Lock()
	if tg.started {
		k.mu.Unlock()
		return
	}
	tg.started = true
	tasks := append([]*Task(nil), tg.tasks...)
	k.mu.Unlock()
	for _, t := range tasks {
		k.startTask(t)
	}
}

func (k *Kernel) startTask(t *Task) {
	k.running.Add(1)
	go t.run()
}

// Signal sends sig to the process pid (root namespace), as kill(2) from the
// host would: linux.ESRCH if there is none. Like a signal from a parent PID
// namespace, it reaches the init (pid 1) only when the init handles it, or
// when it is SIGKILL or SIGSTOP.
func (k *Kernel) Signal(pid int32, sig int) error {
	if sig < 0 || sig > linux.NumSignals {
		return linux.EINVAL
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	tg := k.tgs[pid]
	if tg == nil || tg.zombie {
		return linux.ESRCH
	}
	if sig == 0 {
		return nil
	}
	k.sendGroupLocked(tg, userInfo(sig, 0, 0), sendFromHost)
	return nil
}

// SignalAll sends sig to every process in the sandbox.
func (k *Kernel) SignalAll(sig int) {
	if sig <= 0 || sig > linux.NumSignals {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, tg := range k.tgs {
		if !tg.zombie {
			k.sendGroupLocked(tg, userInfo(sig, 0, 0), sendFromHost)
		}
	}
}

// Processes lists the sandbox's processes in pid order.
func (k *Kernel) Processes() []ProcessInfo {
	k.mu.Lock()
	defer k.mu.Unlock()
	var ps []ProcessInfo
	for _, tg := range k.sortedTGsLocked() {
		ps = append(ps, tg.infoLocked())
	}
	return ps
}

// NumProcesses returns the number of processes, zombies included.
func (k *Kernel) NumProcesses() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.tgs)
}

// Shutdown kills every task and waits for them to exit.
func (k *Kernel) Shutdown() {
	k.mu.Lock()
	var unstarted []*ThreadGroup
	for _, tg := range k.tgs {
		if tg.zombie {
			continue
		}
		if !tg.started {
			unstarted = append(unstarted, tg)
			continue
		}
		k.sendGroupLocked(tg, kernelInfo(linux.SIGKILL), sendForced)
	}
	k.mu.Unlock()
	// Created but never started processes have no goroutine to exit them.
	for _, tg := range unstarted {
		k.mu.Lock()
		tg.exiting = true
		tg.status = ExitStatus{Signo: linux.SIGKILL}
		tasks := append([]*Task(nil), tg.tasks...)
		k.mu.Unlock()
		for _, t := range tasks {
			t.exit()
		}
	}
	k.running.Wait()
	if k.vdso != nil {
		k.vdso.Stop()
	}
}
