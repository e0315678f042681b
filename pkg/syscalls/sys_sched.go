package syscalls

import (
	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/kernel"
)

// Scheduling parameters. The sandbox runs every task under the host's
// normal scheduler, so it reports SCHED_OTHER with priority 0, accepts the
// non-real-time policies, and refuses real-time ones with EPERM (like a
// process without CAP_SYS_NICE); affinity masks are checked and accepted.
func init() {
	register(linux.SYS_SCHED_GETPARAM, sysSchedGetparam, kernel.Int, kernel.Hex)
	register(linux.SYS_SCHED_SETPARAM, sysSchedSetparam, kernel.Int, kernel.Hex)
	register(linux.SYS_SCHED_GETSCHEDULER, sysSchedGetscheduler, kernel.Int)
	register(linux.SYS_SCHED_SETSCHEDULER, sysSchedSetscheduler, kernel.Int, kernel.Int, kernel.Hex)
	register(linux.SYS_SCHED_GET_PRIORITY_MAX, schedPriority(99), kernel.Int)
	register(linux.SYS_SCHED_GET_PRIORITY_MIN, schedPriority(1), kernel.Int)
	register(linux.SYS_SCHED_RR_GET_INTERVAL, sysSchedRRGetInterval, kernel.Int, kernel.Hex)
	register(linux.SYS_SCHED_SETAFFINITY, sysSchedSetaffinity, kernel.Int, kernel.Int, kernel.Hex)
}

// schedTarget checks a pid argument: negative is EINVAL, unknown ESRCH.
func schedTarget(t *kernel.Task, pid int32) error {
	switch {
	case pid < 0:
		return linux.EINVAL
	case !t.TaskExists(pid):
		return linux.ESRCH
	}
	return nil
}

func sysSchedGetparam(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	if a[1] == 0 {
		return 0, linux.EINVAL
	}
	if err := schedTarget(t, int32(a[0])); err != nil {
		return 0, err
	}
	var prio int32
	return 0, kernel.CopyObjectOut(t, a[1], &prio)
}

// readPriority reads struct sched_param's priority, which must be 0 for
// the policies the sandbox offers.
func readPriority(t *kernel.Task, addr uintptr) error {
	if addr == 0 {
		return linux.EINVAL
	}
	var prio int32
	if err := kernel.CopyObjectIn(t, addr, &prio); err != nil {
		return err
	}
	if prio != 0 {
		return linux.EINVAL
	}
	return nil
}

func sysSchedSetparam(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	if err := schedTarget(t, int32(a[0])); err != nil {
		return 0, err
	}
	return 0, readPriority(t, a[1])
}

func sysSchedGetscheduler(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return linux.SCHED_OTHER, schedTarget(t, int32(a[0]))
}

func sysSchedSetscheduler(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	if err := schedTarget(t, int32(a[0])); err != nil {
		return 0, err
	}
	switch int(a[1]) &^ linux.SCHED_RESET_ON_FORK {
	case linux.SCHED_OTHER, linux.SCHED_BATCH, linux.SCHED_IDLE:
		return 0, readPriority(t, a[2])
	case linux.SCHED_FIFO, linux.SCHED_RR:
		return 0, linux.EPERM
	}
	return 0, linux.EINVAL
}

// schedPriority serves sched_get_priority_max (99) and _min (1): those are
// the real-time range; the other policies have only priority 0.
func schedPriority(rt uintptr) kernel.SyscallFn {
	return func(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
		switch int(a[0]) {
		case linux.SCHED_FIFO, linux.SCHED_RR:
			return rt, nil
		case linux.SCHED_OTHER, linux.SCHED_BATCH, linux.SCHED_IDLE:
			return 0, nil
		}
		return 0, linux.EINVAL
	}
}

func sysSchedRRGetInterval(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	if err := schedTarget(t, int32(a[0])); err != nil {
		return 0, err
	}
	ts := linux.Timespec{Nsec: 100_000_000} // Linux's default round-robin slice
	return 0, kernel.CopyObjectOut(t, a[1], &ts)
}

func sysSchedSetaffinity(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	if err := schedTarget(t, int32(a[0])); err != nil {
		return 0, err
	}
	size := int(a[1])
	if size <= 0 || size > 1<<16 {
		return 0, linux.EINVAL
	}
	mask := make([]byte, size)
	if _, err := t.CopyIn(a[2], mask); err != nil {
		return 0, err
	}
	// At least one CPU the sandbox has must be in the mask.
	ncpu := t.Kernel().Config().NumCPU
	for cpu := 0; cpu < ncpu && cpu/8 < size; cpu++ {
		if mask[cpu/8]&(1<<(cpu%8)) != 0 {
			return 0, nil
		}
	}
	return 0, linux.EINVAL
}
