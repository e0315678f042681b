package kernel

import (
	"encoding/binary"
	"testing"
	"time"

	"bulwark.dev/pkg/abi/linux"
)

func TestPosixTimerSignalAndOverrun(t *testing.T) {
	k := newTestKernel(t)
	init := newTestProcess(t, k, nil, nil)
	sig := linux.SIGRTMIN + 2
	set := sigBit(sig)
	init.SigProcMask(linux.SIG_BLOCK, &set)
	id, err := init.TimerCreate(linux.CLOCK_MONOTONIC, &linux.SigEvent{Notify: linux.SIGEV_SIGNAL, Signo: int32(sig), Value: 99})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := init.TimerSet(id, false, TimerSpec{Value: 2 * time.Millisecond, Interval: 2 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(40 * time.Millisecond)
	info, err := init.SigTimedWait(set, time.Second)
	if err != nil || int(info.Signo) != sig || info.Code != linux.SI_TIMER {
		t.Fatalf("timer signal = %+v, %v", info, err)
	}
	if v := binary.LittleEndian.Uint64(info.Data[linux.SigInfoValueOff:]); v != 99 {
		t.Errorf("si_value %d, want 99", v)
	}
	over := int32(binary.LittleEndian.Uint32(info.Data[linux.SigInfoOverrunOff:]))
	if over < 3 {
		t.Errorf("si_overrun %d after 20 intervals, want >= 3", over)
	}
	if n, _ := init.TimerGetOverrun(id); n != over {
		t.Errorf("timer_getoverrun %d, want %d", n, over)
	}
	spec, _ := init.TimerGet(id)
	if spec.Interval != 2*time.Millisecond || spec.Value <= 0 {
		t.Errorf("timer_gettime %+v", spec)
	}
	if err := init.TimerDelete(id); err != nil {
		t.Fatal(err)
	}
	if _, err := init.TimerGet(id); err != linux.EINVAL {
		t.Errorf("gettime of a deleted timer = %v, want EINVAL", err)
	}
	if _, err := init.TimerCreate(linux.CLOCK_MONOTONIC, &linux.SigEvent{Notify: linux.SIGEV_THREAD}); err != linux.EINVAL {
		t.Errorf("SIGEV_THREAD = %v, want EINVAL", err)
	}
}

func TestCPUITimerFollowsCPUTime(t *testing.T) {
	k := newTestKernel(t)
	init := newTestProcess(t, k, nil, nil)
	set := sigBit(linux.SIGVTALRM)
	init.SigProcMask(linux.SIG_BLOCK, &set)
	if _, _, err := init.SetITimer(linux.ITIMER_VIRTUAL, 10*time.Millisecond, 0); err != nil {
		t.Fatal(err)
	}
	// No CPU time is used: the timer does not fire.
	if _, err := init.SigTimedWait(set, 30*time.Millisecond); err != linux.EAGAIN {
		t.Fatalf("fired without CPU time: %v", err)
	}
	if v, _, _ := init.ITimer(linux.ITIMER_VIRTUAL); v != 10*time.Millisecond {
		t.Errorf("time left %v, want 10ms", v)
	}
	init.userNanos.Add(int64(11 * time.Millisecond))
	if _, err := init.SigTimedWait(set, time.Second); err != nil {
		t.Fatalf("SIGVTALRM after CPU time: %v", err)
	}
	if _, _, err := init.SetITimer(7, 0, 0); err != linux.EINVAL {
		t.Errorf("bad which = %v", err)
	}
}

func TestParentDeathSignal(t *testing.T) {
	k := newTestKernel(t)
	init := newTestProcess(t, k, nil, nil)
	mid := newTestProcess(t, k, init.tg, nil)
	grand := newTestProcess(t, k, mid.tg, nil)
	grand.tg.parentTask = mid
	grand.SetParentDeathSignal(linux.SIGUSR1)
	other := newTestProcess(t, k, mid.tg, nil)
	other.tg.parentTask = mid
	mid.ExitGroup(0)
	mid.exit()
	if g, _ := pending(grand); g != uint64(sigBit(linux.SIGUSR1)) {
		t.Errorf("pending %#x, want SIGUSR1", g)
	}
	if g, _ := pending(other); g != 0 {
		t.Errorf("a child without PR_SET_PDEATHSIG got %#x", g)
	}
}

func TestOrphanedGroups(t *testing.T) {
	k := newTestKernel(t)
	init := newTestProcess(t, k, nil, nil)
	sess := newTestProcess(t, k, init.tg, nil)
	leader := newTestProcess(t, k, sess.tg, nil)
	member := newTestProcess(t, k, leader.tg, nil)
	k.mu.Lock()
	sess.tg.sid, sess.tg.pgid = sess.tg.pid, sess.tg.pid
	leader.tg.sid, leader.tg.pgid = sess.tg.pid, leader.tg.pid
	member.tg.sid, member.tg.pgid = sess.tg.pid, leader.tg.pid
	orphaned := k.orphanedPgrpLocked(leader.tg.pid)
	k.stopGroupLocked(member.tg, linux.SIGSTOP)
	k.mu.Unlock()
	if orphaned {
		t.Fatal("a group with a parent in another group of the session is orphaned")
	}
	member.tg.actions[linux.SIGHUP-1] = linux.SigAction{Handler: 0x1000, Flags: linux.SA_RESTORER}
	leader.ExitGroup(0)
	leader.exit()
	k.mu.Lock()
	stopped, pend := member.tg.stopped, member.tg.pending.set
	orphaned = k.orphanedPgrpLocked(leader.tg.pid)
	k.mu.Unlock()
	if !orphaned {
		t.Error("the group is not orphaned after its leader left")
	}
	if stopped || pend&sigBit(linux.SIGHUP) == 0 {
		t.Errorf("newly orphaned stopped group: stopped %v pending %#x, want SIGHUP and continued", stopped, pend)
	}
	// A job-control stop of an orphaned group is discarded.
	k.mu.Lock()
	member.defaultActionLocked(linux.SIGTSTP)
	stopped = member.tg.stopped
	k.mu.Unlock()
	if stopped {
		t.Error("SIGTSTP stopped an orphaned group")
	}
}
