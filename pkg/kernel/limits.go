package kernel

import (
	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/kernel/auth"
)

const inf = linux.RLimInfinity

// defaultLimits are Linux's defaults for a process started by the init.
var defaultLimits = [linux.RLIM_NLIMITS]Rlimit{
	linux.RLIMIT_CPU:        {inf, inf},
	linux.RLIMIT_FSIZE:      {inf, inf},
	linux.RLIMIT_DATA:       {inf, inf},
	linux.RLIMIT_STACK:      {8 << 20, inf},
	linux.RLIMIT_CORE:       {0, inf},
	linux.RLIMIT_RSS:        {inf, inf},
	linux.RLIMIT_NPROC:      {63304, 63304},
	linux.RLIMIT_NOFILE:     {1024, 1048576},
	linux.RLIMIT_MEMLOCK:    {8 << 20, 8 << 20},
	linux.RLIMIT_AS:         {inf, inf},
	linux.RLIMIT_LOCKS:      {inf, inf},
	linux.RLIMIT_SIGPENDING: {63304, 63304},
	linux.RLIMIT_MSGQUEUE:   {819200, 819200},
	linux.RLIMIT_NICE:       {0, 0},
	linux.RLIMIT_RTPRIO:     {0, 0},
	linux.RLIMIT_RTTIME:     {inf, inf},
}

// Limit returns the process's resource limit res (RLIMIT_*).
func (tg *ThreadGroup) Limit(res int) Rlimit {
	if res < 0 || res >= linux.RLIM_NLIMITS {
		return Rlimit{inf, inf}
	}
	tg.limitsMu.Lock()
	defer tg.limitsMu.Unlock()
	return tg.limits[res]
}

// Prlimit implements prlimit64 (and getrlimit/setrlimit with pid 0): it
// returns the old limit of res for process pid (0: the caller) and, when
// newLim is non-nil, sets it. Limits are kept by the sandbox kernel; none
// is applied to the host.
func (t *Task) Prlimit(pid int32, res int, newLim *Rlimit) (Rlimit, error) {
	if res < 0 || res >= linux.RLIM_NLIMITS {
		return Rlimit{}, linux.EINVAL
	}
	tg := t.tg
	if pid != 0 {
		if tg = t.k.ThreadGroup(pid); tg == nil {
			return Rlimit{}, linux.ESRCH
		}
		if newLim != nil && tg != t.tg {
			c, tc := t.Credentials(), tg.leader.Credentials()
			same := c.RealUID == tc.RealUID && c.RealUID == tc.EffectiveUID &&
				c.RealUID == tc.SavedUID && c.RealGID == tc.RealGID
			if !same && !c.HasCapability(auth.CapSysResource) {
				return Rlimit{}, linux.EPERM
			}
		}
	}
	tg.limitsMu.Lock()
	defer tg.limitsMu.Unlock()
	old := tg.limits[res]
	if newLim == nil {
		return old, nil
	}
	if newLim.Cur > newLim.Max {
		return old, linux.EINVAL
	}
	if newLim.Max > old.Max && !t.Credentials().HasCapability(auth.CapSysResource) {
		return old, linux.EPERM
	}
	if res == linux.RLIMIT_NOFILE && newLim.Max > 1<<20 {
		return old, linux.EPERM
	}
	tg.limits[res] = *newLim
	return old, nil
}

// Personality implements personality(2): 0xffffffff queries, any other
// value is recorded.
func (t *Task) Personality(p uint32) uint32 {
	t.tg.limitsMu.Lock()
	defer t.tg.limitsMu.Unlock()
	old := t.tg.personality
	if p != linux.PersonalityQuery {
		t.tg.personality = p
	}
	return old
}

// Dumpable returns PR_GET_DUMPABLE.
func (t *Task) Dumpable() int32 {
	t.tg.limitsMu.Lock()
	defer t.tg.limitsMu.Unlock()
	return t.tg.dumpable
}

// SetDumpable implements PR_SET_DUMPABLE (0 or 1).
func (t *Task) SetDumpable(d int32) error {
	if d != 0 && d != 1 {
		return linux.EINVAL
	}
	t.tg.limitsMu.Lock()
	defer t.tg.limitsMu.Unlock()
	t.tg.dumpable = d
	return nil
}

// NoNewPrivs returns PR_GET_NO_NEW_PRIVS.
func (t *Task) NoNewPrivs() bool {
	t.tg.limitsMu.Lock()
	defer t.tg.limitsMu.Unlock()
	return t.tg.noNewPrivs
}

// SetNoNewPrivs implements PR_SET_NO_NEW_PRIVS (it cannot be unset).
func (t *Task) SetNoNewPrivs() {
	t.tg.limitsMu.Lock()
	defer t.tg.limitsMu.Unlock()
	t.tg.noNewPrivs = true
}

// OOMScoreAdj returns the process's oom_score_adj. The sandbox has no OOM
// killer of its own: the value is kept, inherited across fork and shown,
// as programs and runtimes expect to read back what they wrote.
func (tg *ThreadGroup) OOMScoreAdj() int32 {
	tg.limitsMu.Lock()
	defer tg.limitsMu.Unlock()
	return tg.oomScoreAdj
}

// SetOOMScoreAdj sets oom_score_adj (linux.EINVAL outside -1000..1000).
func (tg *ThreadGroup) SetOOMScoreAdj(v int) error {
	if v < -1000 || v > 1000 {
		return linux.EINVAL
	}
	tg.limitsMu.Lock()
	defer tg.limitsMu.Unlock()
	tg.oomScoreAdj = int32(v)
	return nil
}
