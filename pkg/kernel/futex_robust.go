package kernel

import (
	"bulwark.dev/pkg/abi/linux"
)

// RobustList returns the robust futex list head (get_robust_list).
func (t *Task) RobustList() uintptr { return t.robustList }

// RobustListOf returns the robust list head of thread tid, for
// get_robust_list with a pid (linux.ESRCH if there is none).
func (t *Task) RobustListOf(tid int32) (uintptr, error) {
	if tid == 0 {
		return t.robustList, nil
	}
	t.k.mu.Lock()
	target := t.k.tasks[tid]
	t.k.mu.Unlock()
	if target == nil {
		return 0, linux.ESRCH
	}
	if target != t {
		// Another task's field is only stable while it does not run.
		return 0, linux.EPERM
	}
	return t.robustList, nil
}

// exitRobustList releases the robust futexes the exiting thread still
// holds: each gets FUTEX_OWNER_DIED and one waiter is woken, like Linux's
// exit_robust_list.
func (t *Task) exitRobustList() {
	head := t.robustList
	if head == 0 {
		return
	}
	t.robustList = 0
	var h linux.RobustListHead
	if CopyObjectIn(t, head, &h) != nil {
		return
	}
	entry := uintptr(h.Next)
	for i := 0; entry != head && entry != 0 && i < linux.ROBUST_LIST_LIMIT; i++ {
		var next uint64
		if CopyObjectIn(t, entry&^1, &next) != nil {
			return
		}
		if entry&^1 != uintptr(h.ListOpPending)&^1 {
			t.releaseRobustFutex(uintptr(int64(entry&^1) + h.FutexOffset))
		}
		entry = uintptr(next)
	}
	if p := uintptr(h.ListOpPending) &^ 1; p != 0 {
		t.releaseRobustFutex(uintptr(int64(p) + h.FutexOffset))
	}
}

// releaseRobustFutex marks the futex at addr dead if the task owns it.
func (t *Task) releaseRobustFutex(addr uintptr) {
	m := taskMem{t}
	tid := uint32(t.tid)
	var waiters bool
	owned := false
	_, err := m.modify(addr, func(v uint32) uint32 {
		owned = v&linux.FUTEX_TID_MASK == tid
		if !owned {
			return v
		}
		waiters = v&linux.FUTEX_WAITERS != 0
		return v&linux.FUTEX_WAITERS | linux.FUTEX_OWNER_DIED
	})
	if err == nil && owned && waiters {
		t.FutexWake(addr, false, 1, futexBitsetAny)
	}
}
