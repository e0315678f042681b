package kernel

import (
	"sync"
	"testing"
	"time"

	"bulwark.dev/pkg/abi/linux"
)

// fakeMem is futex memory: a map of words, all private to one space.
type fakeMem struct {
	mu    sync.Mutex
	words map[uintptr]uint32
}

func (m *fakeMem) key(addr uintptr, private bool) (futexKey, error) {
	if addr%4 != 0 {
		return futexKey{}, linux.EINVAL
	}
	return futexKey{as: m, off: addr}, nil
}

func (m *fakeMem) load(addr uintptr) (uint32, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.words[addr], nil
}

func (m *fakeMem) modify(addr uintptr, f func(uint32) uint32) (uint32, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	old := m.words[addr]
	m.words[addr] = f(old)
	return old, nil
}

// startWaiter runs futexWait in a goroutine and returns its result channel
// once the waiter is queued.
func startWaiter(t *testing.T, task *Task, m *fakeMem, addr uintptr, val, bitset uint32, deadline time.Time) <-chan error {
	t.Helper()
	k := task.k
	before := queued(k, m, addr)
	errc := make(chan error, 1)
	go func() { errc <- task.futexWait(m, addr, true, val, bitset, deadline) }()
	for i := 0; queued(k, m, addr) == before; i++ {
		if i > 2000 {
			t.Fatal("waiter never queued")
		}
		time.Sleep(time.Millisecond)
	}
	return errc
}

func queued(k *Kernel, m *fakeMem, addr uintptr) int {
	k.futexes.mu.Lock()
	defer k.futexes.mu.Unlock()
	return len(k.futexes.waiters[futexKey{as: m, off: addr}])
}

func result(t *testing.T, errc <-chan error) error {
	t.Helper()
	select {
	case err := <-errc:
		return err
	case <-time.After(5 * time.Second):
		t.Fatal("waiter did not return")
		return nil
	}
}

func TestFutexWaitWake(t *testing.T) {
	k := newTestKernel(t)
	m := &fakeMem{words: map[uintptr]uint32{0x1000: 1}}
	a := newTestProcess(t, k, nil, nil)
	b := newTestProcess(t, k, nil, nil)

	// A changed value fails at once.
	if err := a.futexWait(m, 0x1000, true, 2, futexBitsetAny, time.Time{}); err != linux.EAGAIN {
		t.Errorf("wait on a changed value: %v, want EAGAIN", err)
	}
	if err := a.futexWait(m, 0x1002, true, 1, futexBitsetAny, time.Time{}); err != linux.EINVAL {
		t.Errorf("unaligned wait: %v, want EINVAL", err)
	}
	ea := startWaiter(t, a, m, 0x1000, 1, futexBitsetAny, time.Time{})
	eb := startWaiter(t, b, m, 0x1000, 1, futexBitsetAny, time.Time{})
	if n, _ := k.futexes.wake(m, 0x1000, true, 1, futexBitsetAny); n != 1 {
		t.Errorf("wake 1 woke %d", n)
	}
	if err := result(t, ea); err != nil { // FIFO: the first waiter
		t.Errorf("first waiter: %v", err)
	}
	if n, _ := k.futexes.wake(m, 0x1000, true, 10, futexBitsetAny); n != 1 {
		t.Errorf("wake all woke %d, want 1", n)
	}
	if err := result(t, eb); err != nil {
		t.Errorf("second waiter: %v", err)
	}
}

func TestFutexTimeoutAndSignal(t *testing.T) {
	k := newTestKernel(t)
	m := &fakeMem{words: map[uintptr]uint32{}}
	a := newTestProcess(t, k, nil, nil)
	start := time.Now()
	if err := a.futexWait(m, 0x10, true, 0, futexBitsetAny, time.Now().Add(30*time.Millisecond)); err != linux.ETIMEDOUT {
		t.Errorf("timed wait: %v, want ETIMEDOUT", err)
	}
	if time.Since(start) < 30*time.Millisecond {
		t.Error("timed wait returned early")
	}
	if queued(k, m, 0x10) != 0 {
		t.Error("timed out waiter left in the queue")
	}
	errc := startWaiter(t, a, m, 0x10, 0, futexBitsetAny, time.Time{})
	a.SendSignal(linux.SIGUSR1)
	if err := result(t, errc); err != linux.ERESTARTSYS {
		t.Errorf("interrupted wait: %v, want ERESTARTSYS", err)
	}
}

func TestFutexBitset(t *testing.T) {
	k := newTestKernel(t)
	m := &fakeMem{words: map[uintptr]uint32{}}
	a := newTestProcess(t, k, nil, nil)
	errc := startWaiter(t, a, m, 0x20, 0, 0b01, time.Time{})
	if n, _ := k.futexes.wake(m, 0x20, true, 1, 0b10); n != 0 {
		t.Errorf("wake with a disjoint bitset woke %d", n)
	}
	if _, err := k.futexes.wake(m, 0x20, true, 1, 0); err != linux.EINVAL {
		t.Errorf("wake with bitset 0: %v, want EINVAL", err)
	}
	if n, _ := k.futexes.wake(m, 0x20, true, 1, 0b11); n != 1 {
		t.Errorf("wake with a matching bitset woke %d", n)
	}
	if err := result(t, errc); err != nil {
		t.Error(err)
	}
}

func TestFutexRequeue(t *testing.T) {
	k := newTestKernel(t)
	m := &fakeMem{words: map[uintptr]uint32{0x30: 5}}
	var errs []<-chan error
	for i := 0; i < 3; i++ {
		errs = append(errs, startWaiter(t, newTestProcess(t, k, nil, nil), m, 0x30, 5, futexBitsetAny, time.Time{}))
	}
	cmp := uint32(4)
	if _, err := k.futexes.requeue(m, 0x30, 0x40, true, 1, 1, &cmp); err != linux.EAGAIN {
		t.Errorf("CMP_REQUEUE with a stale value: %v, want EAGAIN", err)
	}
	cmp = 5
	if n, err := k.futexes.requeue(m, 0x30, 0x40, true, 1, 1, &cmp); n != 2 || err != nil {
		t.Errorf("CMP_REQUEUE = %d, %v; want 2 (one woken, one moved)", n, err)
	}
	if err := result(t, errs[0]); err != nil {
		t.Error(err)
	}
	if queued(k, m, 0x30) != 1 || queued(k, m, 0x40) != 1 {
		t.Errorf("queues after requeue: %d on addr, %d on addr2", queued(k, m, 0x30), queued(k, m, 0x40))
	}
	// The moved waiter is woken through the second word.
	if n, _ := k.futexes.wake(m, 0x40, true, 1, futexBitsetAny); n != 1 {
		t.Errorf("wake on addr2 woke %d", n)
	}
	if err := result(t, errs[1]); err != nil {
		t.Error(err)
	}
	if n, _ := k.futexes.requeue(m, 0x30, 0x40, true, 1, 0, nil); n != 1 {
		t.Errorf("REQUEUE woke %d", n)
	}
	if err := result(t, errs[2]); err != nil {
		t.Error(err)
	}
}

func TestFutexWakeOp(t *testing.T) {
	k := newTestKernel(t)
	m := &fakeMem{words: map[uintptr]uint32{0x50: 0, 0x60: 1}}
	e1 := startWaiter(t, newTestProcess(t, k, nil, nil), m, 0x50, 0, futexBitsetAny, time.Time{})
	e2 := startWaiter(t, newTestProcess(t, k, nil, nil), m, 0x60, 1, futexBitsetAny, time.Time{})
	// *0x60 += 2 (old 1); wake 0x60 if old > 0: glibc's condvar op.
	op := uint32(linux.FUTEX_OP_ADD<<28 | linux.FUTEX_OP_CMP_GT<<24 | 2<<12 | 0)
	if n, err := k.futexes.wakeOp(m, 0x50, 0x60, true, 1, 1, op); n != 2 || err != nil {
		t.Errorf("WAKE_OP = %d, %v; want 2", n, err)
	}
	if m.words[0x60] != 3 {
		t.Errorf("word after FUTEX_OP_ADD = %d, want 3", m.words[0x60])
	}
	result(t, e1)
	result(t, e2)
	// OPARG_SHIFT: *0x60 |= 1<<4; a false comparison wakes nobody on addr2.
	e3 := startWaiter(t, newTestProcess(t, k, nil, nil), m, 0x60, 3, futexBitsetAny, time.Time{})
	op = uint32((linux.FUTEX_OP_OR|linux.FUTEX_OP_OPARG_SHIFT)<<28 | linux.FUTEX_OP_CMP_EQ<<24 | 4<<12 | 7)
	if n, _ := k.futexes.wakeOp(m, 0x50, 0x60, true, 1, 1, op); n != 0 || m.words[0x60] != 3|1<<4 {
		t.Errorf("WAKE_OP with a false test: woke %d, word %#x", n, m.words[0x60])
	}
	k.futexes.wake(m, 0x60, true, 1, futexBitsetAny)
	result(t, e3)
	if _, err := k.futexes.wakeOp(m, 0x50, 0x60, true, 1, 1, 7<<28); err != linux.ENOSYS {
		t.Errorf("unknown op: %v, want ENOSYS", err)
	}
}

// TestThreadExitRules checks the group status of threads exiting one by
// one: the process lives while any thread does and reports the leader's
// code; exit_group wins over it.
func TestThreadExitRules(t *testing.T) {
	k := newTestKernel(t)
	parent := newTestProcess(t, k, nil, nil)
	leader := newTestProcess(t, k, parent.tg, nil)
	k.mu.Lock()
	tid, _ := k.allocPIDLocked()
	thread := leader.newThreadLocked(tid, &fakeContext{}, CloneOptions{}, nil, nil, nil)
	k.mu.Unlock()
	if thread.tg != leader.tg || len(leader.tg.tasks) != 2 {
		t.Fatal("thread not in the leader's group")
	}
	leader.Exit(3)
	leader.exit()
	if leader.tg.zombie || k.ThreadGroup(leader.tg.pid) == nil {
		t.Fatal("process ended with a thread still running")
	}
	if err := parent.Tgkill(leader.tg.pid, leader.tg.pid, 0); err != linux.ESRCH {
		t.Errorf("tgkill of the exited leader: %v, want ESRCH", err)
	}
	if err := parent.Tgkill(leader.tg.pid, tid, 0); err != nil {
		t.Errorf("tgkill of the live thread: %v", err)
	}
	thread.Exit(9)
	thread.exit()
	if st := leader.tg.Wait(); st != (ExitStatus{Code: 3}) {
		t.Errorf("status %+v, want the leader's code 3", st)
	}
	if res, err := parent.Wait(WaitTarget{Type: linux.P_ALL}, linux.WEXITED|linux.WNOHANG); err != nil || res == nil || res.PID != leader.tg.pid {
		t.Errorf("wait4 = %+v, %v", res, err)
	}
}
