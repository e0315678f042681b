package kernel

import (
	"encoding/binary"
	"testing"
	"time"

	"bulwark.dev/pkg/abi/linux"
)

func queueInfo(sig int, value uint64) linux.SignalInfo {
	info := linux.SignalInfo{Signo: int32(sig), Code: linux.SI_QUEUE}
	binary.LittleEndian.PutUint64(info.Data[linux.SigInfoValueOff:], value)
	return info
}

func infoValue(info linux.SignalInfo) uint64 {
	return binary.LittleEndian.Uint64(info.Data[linux.SigInfoValueOff:])
}

func TestRealTimeSignalsQueueInOrder(t *testing.T) {
	k := newTestKernel(t)
	init := newTestProcess(t, k, nil, nil)
	rt0, rt1 := linux.SIGRTMIN, linux.SIGRTMIN+1
	set := sigBit(rt0) | sigBit(rt1) | sigBit(linux.SIGUSR1)
	init.SigProcMask(linux.SIG_BLOCK, &set)
	for i, sig := range []int{rt1, rt0, rt1, rt0} {
		if err := init.SigQueueInfo(init.tg.pid, sig, queueInfo(sig, uint64(i))); err != nil {
			t.Fatalf("sigqueue %d: %v", i, err)
		}
	}
	want := []struct {
		sig   int
		value uint64
	}{{rt0, 1}, {rt0, 3}, {rt1, 0}, {rt1, 2}}
	for _, w := range want {
		info, err := init.SigTimedWait(set, 0)
		if err != nil || int(info.Signo) != w.sig || infoValue(info) != w.value || info.Code != linux.SI_QUEUE {
			t.Fatalf("got %d value %d code %d (%v), want %d value %d", info.Signo, infoValue(info), info.Code, err, w.sig, w.value)
		}
	}
	// Standard signals coalesce.
	init.Kill(init.tg.pid, linux.SIGUSR1)
	init.Kill(init.tg.pid, linux.SIGUSR1)
	if _, err := init.SigTimedWait(set, 0); err != nil {
		t.Fatalf("first SIGUSR1: %v", err)
	}
	if _, err := init.SigTimedWait(set, 0); err != linux.EAGAIN {
		t.Fatalf("second SIGUSR1 = %v, want EAGAIN", err)
	}
}

func TestSigQueueInfoForgedCode(t *testing.T) {
	k := newTestKernel(t)
	init := newTestProcess(t, k, nil, nil)
	child := newTestProcess(t, k, init.tg, nil)
	info := linux.SignalInfo{Code: linux.SI_USER}
	if err := init.SigQueueInfo(child.tg.pid, linux.SIGUSR1, info); err != linux.EPERM {
		t.Errorf("SI_USER to another process = %v, want EPERM", err)
	}
	info.Code = linux.SI_TKILL
	if err := init.TgSigQueueInfo(child.tg.pid, child.tid, linux.SIGUSR1, info); err != linux.EPERM {
		t.Errorf("SI_TKILL to another thread = %v, want EPERM", err)
	}
	info.Code = linux.SI_QUEUE
	if err := init.SigQueueInfo(child.tg.pid, linux.SIGUSR1, info); err != nil {
		t.Errorf("SI_QUEUE to another process = %v", err)
	}
	if g, _ := pending(child); g != uint64(sigBit(linux.SIGUSR1)) {
		t.Errorf("child pending %#x", g)
	}
	if err := init.SigQueueInfo(999, linux.SIGUSR1, info); err != linux.ESRCH {
		t.Errorf("to a missing pid = %v, want ESRCH", err)
	}
}

func TestSigTimedWaitWaits(t *testing.T) {
	k := newTestKernel(t)
	init := newTestProcess(t, k, nil, nil)
	child := newTestProcess(t, k, init.tg, nil)
	set := sigBit(linux.SIGUSR1)
	init.SigProcMask(linux.SIG_BLOCK, &set)
	start := time.Now()
	if _, err := init.SigTimedWait(set, 20*time.Millisecond); err != linux.EAGAIN {
		t.Fatalf("timeout = %v, want EAGAIN", err)
	}
	if time.Since(start) < 15*time.Millisecond {
		t.Errorf("returned after %v", time.Since(start))
	}
	go func() {
		time.Sleep(20 * time.Millisecond)
		child.Kill(init.tg.pid, linux.SIGUSR1)
	}()
	// The init gets a blocked signal even with its default action.
	info, err := init.SigTimedWait(set, -1)
	if err != nil || info.Signo != linux.SIGUSR1 || info.Code != linux.SI_USER {
		t.Fatalf("wait = %+v, %v", info, err)
	}
	if init.SignalMask() != set {
		t.Errorf("mask %#x after the wait, want %#x", init.SignalMask(), set)
	}
}

func TestDequeueSignalAndNotify(t *testing.T) {
	k := newTestKernel(t)
	init := newTestProcess(t, k, nil, nil)
	set := sigBit(linux.SIGUSR2)
	init.SigProcMask(linux.SIG_BLOCK, &set)
	ch := init.SignalNotify()
	init.Kill(init.tg.pid, linux.SIGUSR2)
	select {
	case <-ch:
	default:
		t.Fatal("SignalNotify channel not closed by a new signal")
	}
	if init.PendingSignals() != set {
		t.Errorf("pending %#x", init.PendingSignals())
	}
	if _, ok := init.DequeueSignal(sigBit(linux.SIGUSR1)); ok {
		t.Error("dequeued a signal outside the set")
	}
	if info, ok := init.DequeueSignal(set); !ok || info.Signo != linux.SIGUSR2 {
		t.Errorf("dequeue = %+v, %v", info, ok)
	}
	if init.PendingSignals() != 0 {
		t.Errorf("still pending %#x", init.PendingSignals())
	}
}
