package kernel

import (
	"time"

	"bulwark.dev/pkg/abi/linux"
)

// Taking signals without a handler (rt_sigtimedwait, signalfd) and sending
// them with a caller-made siginfo (rt_sigqueueinfo, rt_tgsigqueueinfo).

// dequeueLocked takes the next signal not in mask, the task's own first and
// then the process's, and fills in what is known only at dequeue time (a
// POSIX timer's overrun count).
func (t *Task) dequeueLocked(mask linux.SignalSet) (linux.SignalInfo, bool) {
	info, ok := t.pending.dequeue(mask)
	if !ok {
		info, ok = t.tg.pending.dequeue(mask)
	}
	if ok && info.Code == linux.SI_TIMER {
		t.tg.timerDequeuedLocked(&info)
	}
	return info, ok
}

// signalQueuedLocked wakes the watchers of tg's pending signals (signalfd
// readers and pollers).
func (tg *ThreadGroup) signalQueuedLocked() {
	if tg.sigEvent != nil {
		close(tg.sigEvent)
		tg.sigEvent = nil
	}
}

// SignalNotify returns a channel closed the next time a signal is queued to
// the task's process or one of its threads.
func (t *Task) SignalNotify() <-chan struct{} {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	if t.tg.sigEvent == nil {
		t.tg.sigEvent = make(chan struct{})
	}
	return t.tg.sigEvent
}

// PendingSignals returns every signal pending for the task: its own and its
// process's, blocked or not.
func (t *Task) PendingSignals() linux.SignalSet {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	return t.pending.set | t.tg.pending.set
}

// DequeueSignal takes the next pending signal of set (the task's own
// first), as a signalfd read does, so that it is not delivered.
func (t *Task) DequeueSignal(set linux.SignalSet) (linux.SignalInfo, bool) {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	return t.dequeueLocked(^set)
}

// SigTimedWait implements rt_sigtimedwait: it takes a pending signal of set,
// waiting for one while timeout allows (negative: forever). The signals of
// set are unblocked during the wait, like Linux does. It fails with
// linux.EAGAIN on timeout and linux.EINTR when another signal interrupted
// the wait.
func (t *Task) SigTimedWait(set linux.SignalSet, timeout time.Duration) (linux.SignalInfo, error) {
	set &^= unblockable
	k := t.k
	k.mu.Lock()
	if info, ok := t.dequeueLocked(^set); ok {
		k.mu.Unlock()
		return info, nil
	}
	if timeout == 0 {
		k.mu.Unlock()
		return linux.SignalInfo{}, linux.EAGAIN
	}
	saved := t.mask
	t.realMask = saved
	t.setMaskLocked(t.mask &^ set)
	k.mu.Unlock()

	var err error
	if timeout < 0 {
		err = t.Block(nil)
	} else {
		err = t.BlockUntil(nil, time.Now().Add(timeout))
	}

	k.mu.Lock()
	defer k.mu.Unlock()
	t.setMaskLocked(saved)
	t.realMask = 0
	if info, ok := t.dequeueLocked(^set); ok {
		return info, nil
	}
	if err == linux.ETIMEDOUT {
		return linux.SignalInfo{}, linux.EAGAIN
	}
	return linux.SignalInfo{}, linux.EINTR
}

// checkQueueInfo applies rt_sigqueueinfo's rule: a process may not forge a
// kernel or kill(2) siginfo (si_code >= 0, or SI_TKILL) for another task.
func (t *Task) checkQueueInfo(info *linux.SignalInfo, targetTID int32) error {
	if (info.Code >= 0 || info.Code == linux.SI_TKILL) && targetTID != t.tid {
		return linux.EPERM
	}
	return nil
}

// SigQueueInfo implements rt_sigqueueinfo: it sends sig with the caller's
// siginfo to process pid (sig 0 only checks).
func (t *Task) SigQueueInfo(pid int32, sig int, info linux.SignalInfo) error {
	if sig != 0 && !validSignal(sig) {
		return linux.EINVAL
	}
	if err := t.checkQueueInfo(&info, pid); err != nil {
		return err
	}
	info.Signo = int32(sig)
	k := t.k
	k.mu.Lock()
	defer k.mu.Unlock()
	tg := k.tgs[pid]
	if pid <= 0 || tg == nil || tg.zombie || tg.leader == nil {
		return linux.ESRCH
	}
	if !mayKill(t.Credentials(), tg.leader, sig, tg.sid == t.tg.sid) {
		return linux.EPERM
	}
	if sig != 0 {
		k.sendGroupLocked(tg, info, sendFromSandbox)
	}
	return nil
}

// TgSigQueueInfo implements rt_tgsigqueueinfo: SigQueueInfo to one thread.
func (t *Task) TgSigQueueInfo(tgid, tid int32, sig int, info linux.SignalInfo) error {
	if tgid <= 0 || tid <= 0 || (sig != 0 && !validSignal(sig)) {
		return linux.EINVAL
	}
	if err := t.checkQueueInfo(&info, tid); err != nil {
		return err
	}
	info.Signo = int32(sig)
	k := t.k
	k.mu.Lock()
	defer k.mu.Unlock()
	target := k.tasks[tid]
	if target == nil || target.exited || target.tg.pid != tgid {
		return linux.ESRCH
	}
	if !mayKill(t.Credentials(), target, sig, target.tg.sid == t.tg.sid) {
		return linux.EPERM
	}
	if sig != 0 {
		k.sendLocked(target.tg, target, info, sendFromSandbox)
	}
	return nil
}
