package kernel

import "bulwark.dev/pkg/abi/linux"

// Sessions and process groups are ids stored on each thread group; a group
// or session exists as long as a process (zombies included) carries its id.

// lookupPIDLocked returns the process pid, or t's own for pid 0.
func (t *Task) lookupPIDLocked(pid int32) (*ThreadGroup, error) {
	if pid == 0 {
		return t.tg, nil
	}
	if pid < 0 {
		return nil, linux.EINVAL
	}
	tg := t.k.tgs[pid]
	if tg == nil {
		return nil, linux.ESRCH
	}
	return tg, nil
}

// GetPGID implements getpgid(2) (and getpgrp with pid 0).
func (t *Task) GetPGID(pid int32) (int32, error) {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	tg, err := t.lookupPIDLocked(pid)
	if err != nil {
		return 0, err
	}
	return tg.pgid, nil
}

// GetSID implements getsid(2).
func (t *Task) GetSID(pid int32) (int32, error) {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	tg, err := t.lookupPIDLocked(pid)
	if err != nil {
		return 0, err
	}
	return tg.sid, nil
}

// SetSID implements setsid(2): the caller leads a new session and process
// group, unless it already leads a process group (EPERM).
func (t *Task) SetSID() (int32, error) {
	k := t.k
	k.mu.Lock()
	defer k.mu.Unlock()
	pid := t.tg.pid
	for _, tg := range k.tgs {
		if tg.pgid == pid {
			return 0, linux.EPERM
		}
	}
	t.tg.sid, t.tg.pgid = pid, pid
	return pid, nil
}

// SetPGID implements setpgid(2) with Linux's rules: the target is the
// caller or a child that has not exec'd (EACCES) in the caller's session;
// a session leader cannot move (EPERM); the group must exist in the same
// session or be the target's own pid (EPERM).
func (t *Task) SetPGID(pid, pgid int32) error {
	if pgid < 0 {
		return linux.EINVAL
	}
	k := t.k
	k.mu.Lock()
	defer k.mu.Unlock()
	target, err := t.lookupPIDLocked(pid)
	if err != nil {
		return err
	}
	if target != t.tg {
		if target.parent != t.tg {
			return linux.ESRCH
		}
		if target.sid != t.tg.sid {
			return linux.EPERM
		}
		if target.execed {
			return linux.EACCES
		}
	}
	if target.sid == target.pid {
		return linux.EPERM
	}
	if pgid == 0 {
		pgid = target.pid
	}
	if pgid != target.pid {
		found := false
		for _, tg := range k.tgs {
			if tg.pgid == pgid && tg.sid == t.tg.sid {
				found = true
				break
			}
		}
		if !found {
			return linux.EPERM
		}
	}
	target.pgid = pgid
	return nil
}
