package syscalls

import (
	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/kernel"
)

// POSIX timers: timer_create and friends. The timers are in pkg/kernel.

func init() {
	register(linux.SYS_TIMER_CREATE, sysTimerCreate, kernel.Int, kernel.Hex, kernel.Hex)
	register(linux.SYS_TIMER_SETTIME, sysTimerSettime, kernel.Int, kernel.Hex, kernel.Hex, kernel.Hex)
	register(linux.SYS_TIMER_GETTIME, sysTimerGettime, kernel.Int, kernel.Hex)
	register(linux.SYS_TIMER_GETOVERRUN, sysTimerGetoverrun, kernel.Int)
	register(linux.SYS_TIMER_DELETE, sysTimerDelete, kernel.Int)
}

// sysTimerCreate: timer_create(clock, sevp, timerid).
func sysTimerCreate(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	var ev *linux.SigEvent
	if a[1] != 0 {
		ev = new(linux.SigEvent)
		if err := kernel.CopyObjectIn(t, a[1], ev); err != nil {
			return 0, err
		}
	}
	id, err := t.TimerCreate(int32(a[0]), ev)
	if err != nil {
		return 0, err
	}
	if err := kernel.CopyObjectOut(t, a[2], &id); err != nil {
		t.TimerDelete(id)
		return 0, err
	}
	return 0, nil
}

// copyInItimerspec reads and validates a struct itimerspec.
func copyInItimerspec(t *kernel.Task, addr uintptr) (kernel.TimerSpec, error) {
	var its linux.Itimerspec
	if err := kernel.CopyObjectIn(t, addr, &its); err != nil {
		return kernel.TimerSpec{}, err
	}
	value, err := fromTimespec(its.Value)
	if err != nil {
		return kernel.TimerSpec{}, err
	}
	interval, err := fromTimespec(its.Interval)
	if err != nil {
		return kernel.TimerSpec{}, err
	}
	return kernel.TimerSpec{Value: value, Interval: interval}, nil
}

// copyOutItimerspec writes spec as a struct itimerspec (if addr is set).
func copyOutItimerspec(t *kernel.Task, addr uintptr, spec kernel.TimerSpec) error {
	if addr == 0 {
		return nil
	}
	its := linux.Itimerspec{Interval: toTimespec(spec.Interval), Value: toTimespec(spec.Value)}
	return kernel.CopyObjectOut(t, addr, &its)
}

// sysTimerSettime: timer_settime(timerid, flags, new, old).
func sysTimerSettime(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	spec, err := copyInItimerspec(t, a[2])
	if err != nil {
		return 0, err
	}
	old, err := t.TimerSet(int32(a[0]), a[1]&linux.TIMER_ABSTIME != 0, spec)
	if err != nil {
		return 0, err
	}
	return 0, copyOutItimerspec(t, a[3], old)
}

// sysTimerGettime: timer_gettime(timerid, curr).
func sysTimerGettime(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	spec, err := t.TimerGet(int32(a[0]))
	if err != nil {
		return 0, err
	}
	return 0, copyOutItimerspec(t, a[1], spec)
}

// sysTimerGetoverrun: timer_getoverrun(timerid).
func sysTimerGetoverrun(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	n, err := t.TimerGetOverrun(int32(a[0]))
	return uintptr(n), err
}

// sysTimerDelete: timer_delete(timerid).
func sysTimerDelete(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return 0, t.TimerDelete(int32(a[0]))
}
