package kernel

import (
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"bulwark.dev/pkg/abi/linux"
)

// futexBitsetAny matches every waiter.
const futexBitsetAny = linux.FUTEX_BITSET_MATCH_ANY

// futexKey names a futex word: private words by address space and
// address, words of MAP_SHARED memory by memory file offset (so that
// processes sharing the pages meet).
type futexKey struct {
	as  any     // the address space of a private key; nil for shared
	off uintptr // address (private) or memory file offset (shared)
}

// futexMem is the memory a futex operation works on.
type futexMem interface {
	// key names the aligned word at addr.
	key(addr uintptr, private bool) (futexKey, error)
	// load reads the word at addr.
	load(addr uintptr) (uint32, error)
	// modify atomically replaces the word at addr with f(old) and returns
	// old.
	modify(addr uintptr, f func(uint32) uint32) (uint32, error)
}

// futexWaiter is one task in FUTEX_WAIT.
type futexWaiter struct {
	key    futexKey
	bitset uint32
	woken  chan struct{} // closed by a wake
	done   bool          // futexTable.mu: woken and dequeued
}

// futexTable holds the waiters of every futex of a kernel. Its lock is a
// leaf except for reads of application memory (mm locks) while held.
type futexTable struct {
	mu      sync.Mutex
	waiters map[futexKey][]*futexWaiter // FIFO per key
}

func (f *futexTable) enqueueLocked(w *futexWaiter) {
	if f.waiters == nil {
		f.waiters = map[futexKey][]*futexWaiter{}
	}
	f.waiters[w.key] = append(f.waiters[w.key], w)
}

// removeLocked drops a waiter that was not woken.
func (f *futexTable) removeLocked(w *futexWaiter) {
	q := f.waiters[w.key]
	for i, x := range q {
		if x == w {
			q = append(q[:i:i], q[i+1:]...)
			break
		}
	}
	f.setQueueLocked(w.key, q)
}

func (f *futexTable) setQueueLocked(k futexKey, q []*futexWaiter) {
	if len(q) == 0 {
		delete(f.waiters, k)
	} else {
		f.waiters[k] = q
	}
}

// wakeLocked wakes up to n waiters of k whose bitset intersects bitset.
func (f *futexTable) wakeLocked(k futexKey, n int, bitset uint32) int {
	q := f.waiters[k]
	woken := 0
	keep := q[:0]
	for _, w := range q {
		if woken < n && w.bitset&bitset != 0 {
			w.done = true
			close(w.woken)
			woken++
			continue
		}
		keep = append(keep, w)
	}
	f.setQueueLocked(k, keep)
	return woken
}

// prepareWait queues a waiter on the word at addr if it still holds val
// (linux.EAGAIN otherwise).
func (f *futexTable) prepareWait(m futexMem, addr uintptr, private bool, val, bitset uint32) (*futexWaiter, error) {
	if bitset == 0 {
		return nil, linux.EINVAL
	}
	k, err := m.key(addr, private)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	cur, err := m.load(addr)
	if err != nil {
		return nil, err
	}
	if cur != val {
		return nil, linux.EAGAIN
	}
	w := &futexWaiter{key: k, bitset: bitset, woken: make(chan struct{})}
	f.enqueueLocked(w)
	return w, nil
}

// finishWait ends a wait that returned err: a waiter woken in the
// meantime succeeds anyway.
func (f *futexTable) finishWait(w *futexWaiter, err error) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if w.done {
		return nil
	}
	f.removeLocked(w)
	return err
}

// wake implements FUTEX_WAKE and FUTEX_WAKE_BITSET.
func (f *futexTable) wake(m futexMem, addr uintptr, private bool, n int, bitset uint32) (int, error) {
	if bitset == 0 {
		return 0, linux.EINVAL
	}
	k, err := m.key(addr, private)
	if err != nil {
		return 0, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.wakeLocked(k, n, bitset), nil
}

// requeue implements FUTEX_REQUEUE and, with cmp, FUTEX_CMP_REQUEUE: wake
// up to nwake waiters of addr and move up to nreq others to addr2. It
// returns the number woken plus the number moved.
func (f *futexTable) requeue(m futexMem, addr, addr2 uintptr, private bool, nwake, nreq int, cmp *uint32) (int, error) {
	if nwake < 0 || nreq < 0 {
		return 0, linux.EINVAL
	}
	k1, err := m.key(addr, private)
	if err != nil {
		return 0, err
	}
	k2, err := m.key(addr2, private)
	if err != nil {
		return 0, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if cmp != nil {
		cur, err := m.load(addr)
		if err != nil {
			return 0, err
		}
		if cur != *cmp {
			return 0, linux.EAGAIN
		}
	}
	n := f.wakeLocked(k1, nwake, futexBitsetAny)
	if k1 == k2 {
		return n, nil
	}
	q := f.waiters[k1]
	moved := min(nreq, len(q))
	for _, w := range q[:moved] {
		w.key = k2
		f.enqueueLocked(w)
	}
	f.setQueueLocked(k1, append([]*futexWaiter(nil), q[moved:]...))
	return n + moved, nil
}

// wakeOp implements FUTEX_WAKE_OP: atomically apply op to the word at
// addr2, wake up to nwake waiters of addr and, if the old value of addr2
// passes op's comparison, up to nwake2 waiters of addr2.
func (f *futexTable) wakeOp(m futexMem, addr, addr2 uintptr, private bool, nwake, nwake2 int, op uint32) (int, error) {
	apply, test, err := decodeWakeOp(op)
	if err != nil {
		return 0, err
	}
	k1, err := m.key(addr, private)
	if err != nil {
		return 0, err
	}
	k2, err := m.key(addr2, private)
	if err != nil {
		return 0, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	old, err := m.modify(addr2, apply)
	if err != nil {
		return 0, err
	}
	n := f.wakeLocked(k1, nwake, futexBitsetAny)
	if test(old) {
		n += f.wakeLocked(k2, nwake2, futexBitsetAny)
	}
	return n, nil
}

// signExtend12 sign-extends a 12-bit field.
func signExtend12(v uint32) int32 { return int32(v<<20) >> 20 }

// wakeOps and wakeCmps are FUTEX_WAKE_OP's operations and comparisons.
var (
	wakeOps = map[uint32]func(old, arg uint32) uint32{
		linux.FUTEX_OP_SET:  func(_, a uint32) uint32 { return a },
		linux.FUTEX_OP_ADD:  func(o, a uint32) uint32 { return o + a },
		linux.FUTEX_OP_OR:   func(o, a uint32) uint32 { return o | a },
		linux.FUTEX_OP_ANDN: func(o, a uint32) uint32 { return o &^ a },
		linux.FUTEX_OP_XOR:  func(o, a uint32) uint32 { return o ^ a },
	}
	wakeCmps = map[uint32]func(old, arg int32) bool{
		linux.FUTEX_OP_CMP_EQ: func(o, a int32) bool { return o == a },
		linux.FUTEX_OP_CMP_NE: func(o, a int32) bool { return o != a },
		linux.FUTEX_OP_CMP_LT: func(o, a int32) bool { return o < a },
		linux.FUTEX_OP_CMP_LE: func(o, a int32) bool { return o <= a },
		linux.FUTEX_OP_CMP_GT: func(o, a int32) bool { return o > a },
		linux.FUTEX_OP_CMP_GE: func(o, a int32) bool { return o >= a },
	}
)

// decodeWakeOp splits FUTEX_WAKE_OP's val3 into the modification and the
// test of the old value (linux.ENOSYS for unknown codes, like Linux).
func decodeWakeOp(op uint32) (func(uint32) uint32, func(uint32) bool, error) {
	code := op >> 28
	oparg := uint32(signExtend12(op >> 12 & 0xfff))
	cmparg := signExtend12(op & 0xfff)
	if code&linux.FUTEX_OP_OPARG_SHIFT != 0 {
		oparg = 1 << (oparg & 31)
		code &^= linux.FUTEX_OP_OPARG_SHIFT
	}
	fop, ok1 := wakeOps[code]
	fcmp, ok2 := wakeCmps[op>>24&0xf]
	if !ok1 || !ok2 {
		return nil, nil, linux.ENOSYS
	}
	return func(old uint32) uint32 { return fop(old, oparg) },
		func(old uint32) bool { return fcmp(int32(old), cmparg) }, nil
}

// taskMem is a task's address space seen by futexes.
type taskMem struct{ t *Task }

func (m taskMem) key(addr uintptr, private bool) (futexKey, error) {
	if addr%4 != 0 {
		return futexKey{}, linux.EINVAL
	}
	mm := m.t.mm
	if mm == nil {
		return futexKey{}, linux.EFAULT
	}
	if private {
		return futexKey{as: mm, off: addr}, nil
	}
	off, shared, err := mm.FutexLocation(addr, false)
	if err != nil {
		return futexKey{}, err
	}
	if shared {
		return futexKey{off: uintptr(off)}, nil
	}
	return futexKey{as: mm, off: addr}, nil
}

// word returns the word at addr in the memory file for atomic access.
func (m taskMem) word(addr uintptr, write bool) (*uint32, error) {
	if addr%4 != 0 {
		return nil, linux.EINVAL
	}
	mm, mf := m.t.mm, m.t.k.cfg.MemoryFile
	if mm == nil || mf == nil {
		return nil, linux.EFAULT
	}
	off, _, err := mm.FutexLocation(addr, write)
	if err != nil {
		return nil, err
	}
	b, err := mf.Bytes(off, 4)
	if err != nil {
		return nil, linux.EFAULT
	}
	return (*uint32)(unsafe.Pointer(&b[0])), nil
}

func (m taskMem) load(addr uintptr) (uint32, error) {
	p, err := m.word(addr, false)
	if err != nil {
		return 0, err
	}
	return atomic.LoadUint32(p), nil
}

func (m taskMem) modify(addr uintptr, f func(uint32) uint32) (uint32, error) {
	p, err := m.word(addr, true)
	if err != nil {
		return 0, err
	}
	for {
		old := atomic.LoadUint32(p)
		if atomic.CompareAndSwapUint32(p, old, f(old)) {
			return old, nil
		}
	}
}

// futexWait waits on the word at addr of m while it holds val, until a
// wake, the deadline (zero: none; linux.ETIMEDOUT) or a signal
// (linux.ERESTARTSYS).
func (t *Task) futexWait(m futexMem, addr uintptr, private bool, val, bitset uint32, deadline time.Time) error {
	f := &t.k.futexes
	w, err := f.prepareWait(m, addr, private, val, bitset)
	if err != nil {
		return err
	}
	if deadline.IsZero() {
		err = t.Block(w.woken)
	} else {
		err = t.BlockUntil(w.woken, deadline)
	}
	return f.finishWait(w, err)
}

// FutexWait implements FUTEX_WAIT and FUTEX_WAIT_BITSET: it sleeps while
// the word at addr holds val. deadline is absolute (zero: no timeout). A
// signal makes it return linux.ERESTARTSYS without a timeout, else
// linux.ERESTART_RESTARTBLOCK with a restart that keeps the deadline.
func (t *Task) FutexWait(addr uintptr, private bool, val, bitset uint32, deadline time.Time) error {
	err := t.futexWait(taskMem{t}, addr, private, val, bitset, deadline)
	if err == linux.ERESTARTSYS && !deadline.IsZero() {
		t.SetRestartBlock(func(t *Task, _ SyscallArguments) (uintptr, error) {
			return 0, t.FutexWait(addr, private, val, bitset, deadline)
		})
		return linux.ERESTART_RESTARTBLOCK
	}
	return err
}

// FutexWake implements FUTEX_WAKE and FUTEX_WAKE_BITSET.
func (t *Task) FutexWake(addr uintptr, private bool, n int, bitset uint32) (int, error) {
	return t.k.futexes.wake(taskMem{t}, addr, private, n, bitset)
}

// FutexRequeue implements FUTEX_REQUEUE (cmp nil) and FUTEX_CMP_REQUEUE.
func (t *Task) FutexRequeue(addr, addr2 uintptr, private bool, nwake, nreq int, cmp *uint32) (int, error) {
	return t.k.futexes.requeue(taskMem{t}, addr, addr2, private, nwake, nreq, cmp)
}

// FutexWakeOp implements FUTEX_WAKE_OP.
func (t *Task) FutexWakeOp(addr, addr2 uintptr, private bool, nwake, nwake2 int, op uint32) (int, error) {
	return t.k.futexes.wakeOp(taskMem{t}, addr, addr2, private, nwake, nwake2, op)
}
