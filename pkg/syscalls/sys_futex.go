package syscalls

import (
	"time"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/kernel"
)

// Futexes and robust lists.

func init() {
	register(linux.SYS_FUTEX, sysFutex, kernel.Hex, kernel.Hex, kernel.Int, kernel.Hex, kernel.Hex, kernel.Hex)
	register(linux.SYS_GET_ROBUST_LIST, sysGetRobustList, kernel.Int, kernel.Hex, kernel.Hex)
}

// futexDeadline reads futex's timeout argument: relative for FUTEX_WAIT,
// absolute on CLOCK_MONOTONIC (or CLOCK_REALTIME with the flag) for
// FUTEX_WAIT_BITSET. The zero time means no timeout.
func futexDeadline(t *kernel.Task, addr uintptr, abs, realtime bool) (time.Time, error) {
	if addr == 0 {
		return time.Time{}, nil
	}
	var ts linux.Timespec
	if err := kernel.CopyObjectIn(t, addr, &ts); err != nil {
		return time.Time{}, err
	}
	if ts.Sec < 0 || ts.Nsec < 0 || ts.Nsec >= 1e9 {
		return time.Time{}, linux.EINVAL
	}
	const maxSec = 1 << 32 // far enough to be forever
	sec := min(ts.Sec, maxSec)
	d := time.Duration(sec)*time.Second + time.Duration(ts.Nsec)
	switch {
	case !abs:
		return time.Now().Add(d), nil
	case realtime:
		return time.Unix(sec, ts.Nsec), nil
	default:
		return t.Kernel().BootTime().Add(d), nil
	}
}

// sysFutex: futex(uaddr, op, val, timeout or val2, uaddr2, val3).
func sysFutex(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	addr, op, val := a[0], int(a[1]), uint32(a[2])
	addr2, val3 := a[4], uint32(a[5])
	private := op&linux.FUTEX_PRIVATE_FLAG != 0
	realtime := op&linux.FUTEX_CLOCK_REALTIME != 0
	cmd := op & linux.FUTEX_CMD_MASK
	if realtime && cmd != linux.FUTEX_WAIT && cmd != linux.FUTEX_WAIT_BITSET {
		return 0, linux.ENOSYS
	}
	val2 := int(uint32(a[3])) // nr_requeue / nr_wake2 share the timeout slot
	switch cmd {
	case linux.FUTEX_WAIT, linux.FUTEX_WAIT_BITSET:
		bitset := uint32(linux.FUTEX_BITSET_MATCH_ANY)
		if cmd == linux.FUTEX_WAIT_BITSET {
			bitset = val3
		}
		deadline, err := futexDeadline(t, a[3], cmd == linux.FUTEX_WAIT_BITSET, realtime)
		if err != nil {
			return 0, err
		}
		return 0, t.FutexWait(addr, private, val, bitset, deadline)
	case linux.FUTEX_WAKE, linux.FUTEX_WAKE_BITSET:
		bitset := uint32(linux.FUTEX_BITSET_MATCH_ANY)
		if cmd == linux.FUTEX_WAKE_BITSET {
			bitset = val3
		}
		n, err := t.FutexWake(addr, private, int(int32(val)), bitset)
		return uintptr(n), err
	case linux.FUTEX_REQUEUE:
		n, err := t.FutexRequeue(addr, addr2, private, int(int32(val)), val2, nil)
		return uintptr(n), err
	case linux.FUTEX_CMP_REQUEUE:
		n, err := t.FutexRequeue(addr, addr2, private, int(int32(val)), val2, &val3)
		return uintptr(n), err
	case linux.FUTEX_WAKE_OP:
		n, err := t.FutexWakeOp(addr, addr2, private, int(int32(val)), val2, val3)
		return uintptr(n), err
	}
	// PI futexes and FUTEX_FD are not supported.
	return 0, linux.ENOSYS
}

// sysGetRobustList: get_robust_list(pid, head_ptr, len_ptr).
func sysGetRobustList(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	head, err := t.RobustListOf(int32(a[0]))
	if err != nil {
		return 0, err
	}
	h := uint64(head)
	if err := kernel.CopyObjectOut(t, a[1], &h); err != nil {
		return 0, err
	}
	size := uint64(24) // sizeof(struct robust_list_head)
	return 0, kernel.CopyObjectOut(t, a[2], &size)
}
