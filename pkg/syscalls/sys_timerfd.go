package syscalls

import (
	"time"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/fs/timerfd"
	"bulwark.dev/pkg/kernel"
)

// timerfd_create, timerfd_settime and timerfd_gettime. The file is
// pkg/fs/timerfd.

func init() {
	register(linux.SYS_TIMERFD_CREATE, sysTimerfdCreate, kernel.Int, kernel.Hex)
	register(linux.SYS_TIMERFD_SETTIME, sysTimerfdSettime, kernel.FD, kernel.Hex, kernel.Hex, kernel.Hex)
	register(linux.SYS_TIMERFD_GETTIME, sysTimerfdGettime, kernel.FD, kernel.Hex)
}

// sysTimerfdCreate: timerfd_create(clockid, flags).
func sysTimerfdCreate(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	clock, flags := int32(a[0]), uint32(a[1])
	var now timerfd.Clock
	switch clock {
	case linux.CLOCK_REALTIME, linux.CLOCK_REALTIME_ALARM:
		now = func() time.Duration { return time.Duration(time.Now().UnixNano()) }
	case linux.CLOCK_MONOTONIC, linux.CLOCK_BOOTTIME, linux.CLOCK_BOOTTIME_ALARM:
		now = t.Kernel().Uptime
	default:
		return 0, linux.EINVAL
	}
	f, err := timerfd.NewFile(t, clock, now, flags)
	if err != nil {
		return 0, err
	}
	return installFile(t, f, flags&linux.TFD_CLOEXEC != 0)
}

// getTimerFD returns the timer of fd (linux.EINVAL when fd is not a
// timerfd) and the file, which the caller releases.
func getTimerFD(t *kernel.Task, fd uintptr) (*timerfd.TimerFD, func(), error) {
	f, err := getFile(t, fd)
	if err != nil {
		return nil, nil, err
	}
	tf, ok := timerfd.FromFile(f)
	if !ok {
		f.DecRef()
		return nil, nil, linux.EINVAL
	}
	return tf, f.DecRef, nil
}

// sysTimerfdSettime: timerfd_settime(fd, flags, new, old).
func sysTimerfdSettime(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	flags := a[1]
	if flags&^(linux.TFD_TIMER_ABSTIME|linux.TFD_TIMER_CANCEL_ON_SET) != 0 {
		return 0, linux.EINVAL
	}
	tf, release, err := getTimerFD(t, a[0])
	if err != nil {
		return 0, err
	}
	defer release()
	spec, err := copyInItimerspec(t, a[2])
	if err != nil {
		return 0, err
	}
	oldValue, oldInterval := tf.Set(flags&linux.TFD_TIMER_ABSTIME != 0, spec.Value, spec.Interval)
	return 0, copyOutItimerspec(t, a[3], kernel.TimerSpec{Value: oldValue, Interval: oldInterval})
}

// sysTimerfdGettime: timerfd_gettime(fd, curr).
func sysTimerfdGettime(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	tf, release, err := getTimerFD(t, a[0])
	if err != nil {
		return 0, err
	}
	defer release()
	value, interval := tf.Get()
	return 0, copyOutItimerspec(t, a[1], kernel.TimerSpec{Value: value, Interval: interval})
}
