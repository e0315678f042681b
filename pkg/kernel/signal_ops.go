package kernel

import (
	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/kernel/auth"
)

// SigAction implements rt_sigaction: it returns the old action of sig and,
// when act is non-nil, installs it.
func (t *Task) SigAction(sig int, act *linux.SigAction) (linux.SigAction, error) {
	if !validSignal(sig) {
		return linux.SigAction{}, linux.EINVAL
	}
	if act != nil && (sig == linux.SIGKILL || sig == linux.SIGSTOP) {
		return linux.SigAction{}, linux.EINVAL
	}
	k := t.k
	k.mu.Lock()
	defer k.mu.Unlock()
	old := t.tg.actions[sig-1]
	if act != nil {
		a := *act
		a.Mask &^= unblockable
		t.tg.actions[sig-1] = a
		// Setting a signal to be ignored discards its pending instances.
		if t.tg.ignoredLocked(sig) {
			t.tg.discardLocked(sigBit(sig))
		}
	}
	return old, nil
}

// SigProcMask implements rt_sigprocmask: it returns the old mask and, when
// set is non-nil, changes the mask per how (linux.SIG_BLOCK, ...).
func (t *Task) SigProcMask(how int, set *linux.SignalSet) (linux.SignalSet, error) {
	k := t.k
	k.mu.Lock()
	defer k.mu.Unlock()
	old := t.mask
	if set == nil {
		return old, nil
	}
	switch how {
	case linux.SIG_BLOCK:
		t.setMaskLocked(t.mask | *set)
	case linux.SIG_UNBLOCK:
		t.setMaskLocked(t.mask &^ *set)
	case linux.SIG_SETMASK:
		t.setMaskLocked(*set)
	default:
		return 0, linux.EINVAL
	}
	return old, nil
}

// setMaskLocked sets the blocked set (never SIGKILL or SIGSTOP). Only the
// task itself changes its mask, and it looks at its pending signals before
// it returns to application code.
func (t *Task) setMaskLocked(mask linux.SignalSet) {
	t.mask = mask &^ unblockable
}

// SetSavedSignalMask installs mask as the blocked set for the rest of the
// syscall (ppoll, pselect6, epoll_pwait) and remembers the current one. The
// old mask comes back before the return to the application: at once when
// the syscall did not fail with ERESTARTNOHAND, else after the handler's
// frame is built (the frame saves the old mask, so the handler returns to
// it), like Linux's set_user_sigmask and restore_saved_sigmask.
func (t *Task) SetSavedSignalMask(mask linux.SignalSet) {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	if !t.haveSavedMask {
		t.savedMask = t.mask
		t.haveSavedMask = true
	}
	t.setMaskLocked(mask)
}

// restoreSavedMaskUnlessInterrupted ends a temporary mask after a syscall
// that was not interrupted (see SetSavedSignalMask).
func (t *Task) restoreSavedMaskUnlessInterrupted(errno linux.Errno) {
	if errno == linux.ERESTARTNOHAND {
		return
	}
	t.k.mu.Lock()
	if t.haveSavedMask {
		t.setMaskLocked(t.savedMask)
		t.haveSavedMask = false
	}
	t.k.mu.Unlock()
}

// SignalMask returns the blocked set.
func (t *Task) SignalMask() linux.SignalSet {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	return t.mask
}

// SigPending implements rt_sigpending: pending signals that are blocked.
func (t *Task) SigPending() linux.SignalSet {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	return (t.pending.set | t.tg.pending.set) & t.mask
}

// SigSuspend implements rt_sigsuspend: it replaces the mask with mask until
// a signal is delivered. It always returns linux.ERESTARTNOHAND, which
// becomes EINTR once the handler ran.
func (t *Task) SigSuspend(mask linux.SignalSet) error {
	t.k.mu.Lock()
	t.savedMask = t.mask
	t.haveSavedMask = true
	t.setMaskLocked(mask)
	t.k.mu.Unlock()
	for t.Block(nil) == nil {
	}
	return linux.ERESTARTNOHAND
}

// Pause implements pause(2): it waits for a signal.
func (t *Task) Pause() error {
	for t.Block(nil) == nil {
	}
	return linux.ERESTARTNOHAND
}

// onAltStack reports whether sp lies on the task's alternate signal stack.
func (t *Task) onAltStack(sp uint64) bool {
	s := t.altStack
	return s.Flags&linux.SS_DISABLE == 0 && sp > s.Addr && sp-s.Addr <= s.Size
}

// SigAltStack implements sigaltstack: it returns the old stack and, when
// ss is non-nil, installs it.
func (t *Task) SigAltStack(ss *linux.SignalStack) (linux.SignalStack, error) {
	old := t.altStack
	if old.Flags&linux.SS_DISABLE == 0 && old.Size == 0 {
		old.Flags = linux.SS_DISABLE
	}
	if t.onAltStack(t.regs.Rsp) {
		old.Flags |= linux.SS_ONSTACK
	}
	if ss == nil {
		return old, nil
	}
	if t.onAltStack(t.regs.Rsp) {
		return old, linux.EPERM
	}
	flags := ss.Flags &^ linux.SS_AUTODISARM
	switch {
	case flags == linux.SS_DISABLE:
		t.altStack = linux.SignalStack{Flags: linux.SS_DISABLE}
	case flags == 0 || flags == linux.SS_ONSTACK:
		if ss.Size < linux.MINSIGSTKSZ {
			return old, linux.ENOMEM
		}
		t.altStack = linux.SignalStack{Addr: ss.Addr, Size: ss.Size}
	default:
		return old, linux.EINVAL
	}
	return old, nil
}

// mayKill applies kill(2)'s permission rule.
func mayKill(sender *auth.Credentials, target *Task, sig int, sameSession bool) bool {
	if sender.HasCapability(auth.CapKill) {
		return true
	}
	if sig == linux.SIGCONT && sameSession {
		return true
	}
	tc := target.Credentials()
	return sender.EffectiveUID == tc.RealUID || sender.EffectiveUID == tc.SavedUID ||
		sender.RealUID == tc.RealUID || sender.RealUID == tc.SavedUID
}

// signalTGLocked sends a kill(2)-style signal from t to tg after the
// permission check; sig 0 only checks.
func (t *Task) signalTGLocked(tg *ThreadGroup, sig int) error {
	if tg.zombie || tg.leader == nil {
		return linux.ESRCH
	}
	if !mayKill(t.Credentials(), tg.leader, sig, tg.sid == t.tg.sid) {
		return linux.EPERM
	}
	if sig != 0 {
		t.k.sendGroupLocked(tg, userInfo(sig, t.tg.pid, t.Credentials().RealUID), sendFromSandbox)
	}
	return nil
}

// Kill implements kill(2) for pid > 0, 0 (own group), -1 (everyone but init
// and self) and < -1 (process group -pid).
func (t *Task) Kill(pid int32, sig int) error {
	if sig != 0 && !validSignal(sig) {
		return linux.EINVAL
	}
	k := t.k
	k.mu.Lock()
	defer k.mu.Unlock()
	if pid > 0 {
		tg := k.tgs[pid]
		if tg == nil {
			return linux.ESRCH
		}
		return t.signalTGLocked(tg, sig)
	}
	var match func(tg *ThreadGroup) bool
	switch {
	case pid == -1:
		match = func(tg *ThreadGroup) bool { return !tg.isInit() && tg != t.tg }
	case pid == 0:
		pgid := t.tg.pgid
		match = func(tg *ThreadGroup) bool { return tg.pgid == pgid }
	default:
		if pid == -pid { // math.MinInt32
			return linux.ESRCH
		}
		match = func(tg *ThreadGroup) bool { return tg.pgid == -pid }
	}
	found, sent := false, false
	var lastErr error = linux.ESRCH
	for _, tg := range k.sortedTGsLocked() {
		if tg.zombie || !match(tg) {
			continue
		}
		found = true
		if err := t.signalTGLocked(tg, sig); err != nil {
			lastErr = err
			continue
		}
		sent = true
	}
	if !found {
		return linux.ESRCH
	}
	if !sent {
		return lastErr
	}
	return nil
}

// Tgkill implements tgkill(2) (and tkill(2) with tgid 0): a signal to one
// thread.
func (t *Task) Tgkill(tgid, tid int32, sig int) error {
	if (sig != 0 && !validSignal(sig)) || tid <= 0 || tgid < 0 {
		return linux.EINVAL
	}
	k := t.k
	k.mu.Lock()
	defer k.mu.Unlock()
	target := k.tasks[tid]
	if target == nil || target.exited || (tgid != 0 && target.tg.pid != tgid) {
		return linux.ESRCH
	}
	if !mayKill(t.Credentials(), target, sig, target.tg.sid == t.tg.sid) {
		return linux.EPERM
	}
	if sig == 0 {
		return nil
	}
	info := userInfo(sig, t.tg.pid, t.Credentials().RealUID)
	info.Code = linux.SI_TKILL
	k.sendLocked(target.tg, target, info, sendFromSandbox)
	return nil
}
