package syscalls

import (
	"time"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/kernel"
)

// Time: clocks, sleeping, process times, alarm.

func init() {
	register(linux.SYS_CLOCK_GETTIME, sysClockGettime, kernel.Int, kernel.Hex)
	register(linux.SYS_CLOCK_GETRES, sysClockGetres, kernel.Int, kernel.Hex)
	register(linux.SYS_GETTIMEOFDAY, sysGettimeofday, kernel.Hex, kernel.Hex)
	register(linux.SYS_TIME, sysTime, kernel.Hex)
	register(linux.SYS_NANOSLEEP, sysNanosleep, kernel.Hex, kernel.Hex)
	register(linux.SYS_CLOCK_NANOSLEEP, sysClockNanosleep, kernel.Int, kernel.Int, kernel.Hex, kernel.Hex)
	register(linux.SYS_TIMES, sysTimes, kernel.Hex)
	register(linux.SYS_GETRUSAGE, sysGetrusage, kernel.Int, kernel.Hex)
	register(linux.SYS_ALARM, sysAlarm, kernel.Int)
	register(linux.SYS_SETITIMER, sysSetitimer, kernel.Int, kernel.Hex, kernel.Hex)
	register(linux.SYS_GETITIMER, sysGetitimer, kernel.Int, kernel.Hex)
}

func toTimespec(d time.Duration) linux.Timespec {
	return linux.Timespec{Sec: int64(d / time.Second), Nsec: int64(d % time.Second)}
}

func toTimeval(d time.Duration) linux.Timeval {
	return linux.Timeval{Sec: int64(d / time.Second), Usec: int64(d % time.Second / time.Microsecond)}
}

// fromTimespec validates and converts a timespec (EINVAL when out of range).
func fromTimespec(ts linux.Timespec) (time.Duration, error) {
	if ts.Sec < 0 || ts.Nsec < 0 || ts.Nsec >= int64(time.Second) {
		return 0, linux.EINVAL
	}
	if ts.Sec > int64((1<<63-1)/time.Second)-1 {
		return 1<<63 - 1, nil
	}
	return time.Duration(ts.Sec)*time.Second + time.Duration(ts.Nsec), nil
}

func sysClockGettime(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	now, err := t.Now(int32(a[0]))
	if err != nil {
		return 0, err
	}
	ts := toTimespec(now)
	return 0, kernel.CopyObjectOut(t, a[1], &ts)
}

func sysClockGetres(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	if _, err := t.Now(int32(a[0])); err != nil {
		return 0, err
	}
	if a[1] == 0 {
		return 0, nil
	}
	ts := linux.Timespec{Nsec: 1}
	return 0, kernel.CopyObjectOut(t, a[1], &ts)
}

func sysGettimeofday(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	if a[0] != 0 {
		tv := toTimeval(time.Duration(time.Now().UnixNano()))
		if err := kernel.CopyObjectOut(t, a[0], &tv); err != nil {
			return 0, err
		}
	}
	if a[1] != 0 {
		var tz [2]int32 // UTC
		return 0, kernel.CopyObjectOut(t, a[1], &tz)
	}
	return 0, nil
}

func sysTime(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	now := time.Now().Unix()
	if a[0] != 0 {
		if err := kernel.CopyObjectOut(t, a[0], &now); err != nil {
			return 0, err
		}
	}
	return uintptr(now), nil
}

// sleepRelative sleeps until deadline. Interrupted, it writes the time left
// to rem (if non-zero) and returns ERESTART_RESTARTBLOCK with a restart
// block that sleeps until the same deadline, so the sleep goes on when no
// handler runs and fails with EINTR when one does, like Linux.
func sleepRelative(t *kernel.Task, deadline time.Time, rem uintptr) (uintptr, error) {
	err := t.Sleep(deadline)
	if err == nil {
		return 0, nil
	}
	if err != linux.ERESTARTSYS {
		return 0, err
	}
	if rem != 0 {
		ts := toTimespec(max(time.Until(deadline), 0))
		if err := kernel.CopyObjectOut(t, rem, &ts); err != nil {
			return 0, err
		}
	}
	t.SetRestartBlock(func(t *kernel.Task, _ kernel.SyscallArguments) (uintptr, error) {
		return sleepRelative(t, deadline, rem)
	})
	return 0, linux.ERESTART_RESTARTBLOCK
}

// sysNanosleep: nanosleep(req, rem).
func sysNanosleep(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	var ts linux.Timespec
	if err := kernel.CopyObjectIn(t, a[0], &ts); err != nil {
		return 0, err
	}
	d, err := fromTimespec(ts)
	if err != nil {
		return 0, err
	}
	return sleepRelative(t, time.Now().Add(d), a[1])
}

// sysClockNanosleep: clock_nanosleep(clock, flags, req, rem).
func sysClockNanosleep(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	clock, flags := int32(a[0]), int(a[1])
	switch clock {
	case linux.CLOCK_REALTIME, linux.CLOCK_MONOTONIC, linux.CLOCK_BOOTTIME, linux.CLOCK_TAI:
	case linux.CLOCK_THREAD_CPUTIME_ID:
		return 0, linux.EINVAL
	default:
		if _, err := t.Now(clock); err != nil {
			return 0, err
		}
		return 0, linux.ENOTSUP
	}
	var ts linux.Timespec
	if err := kernel.CopyObjectIn(t, a[2], &ts); err != nil {
		return 0, err
	}
	d, err := fromTimespec(ts)
	if err != nil {
		return 0, err
	}
	if flags&linux.TIMER_ABSTIME == 0 {
		return sleepRelative(t, time.Now().Add(d), a[3])
	}
	deadline, err := t.Deadline(clock, d)
	if err != nil {
		return 0, err
	}
	// An absolute sleep restarts with the same arguments.
	if err := t.Sleep(deadline); err != nil {
		if err == linux.ERESTARTSYS {
			return 0, linux.ERESTARTNOHAND
		}
		return 0, err
	}
	return 0, nil
}

// sysTimes: times(buf) returns clock ticks since boot.
func sysTimes(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	if a[0] != 0 {
		u, s, cu, cs := t.ProcessCPUTimes()
		tms := linux.Tms{Utime: kernel.Ticks(u), Stime: kernel.Ticks(s), CUtime: kernel.Ticks(cu), CStime: kernel.Ticks(cs)}
		if err := kernel.CopyObjectOut(t, a[0], &tms); err != nil {
			return 0, err
		}
	}
	return uintptr(kernel.Ticks(t.Kernel().Uptime())), nil
}

// sysGetrusage: getrusage(who, usage) with CPU times; other fields zero.
func sysGetrusage(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	var u, s time.Duration
	switch int32(a[0]) {
	case linux.RUSAGE_SELF:
		u, s, _, _ = t.ProcessCPUTimes()
	case linux.RUSAGE_CHILDREN:
		_, _, u, s = t.ProcessCPUTimes()
	case linux.RUSAGE_THREAD:
		u, s = t.CPUTimes()
	default:
		return 0, linux.EINVAL
	}
	ru := linux.Rusage{Utime: toTimeval(u), Stime: toTimeval(s)}
	return 0, kernel.CopyObjectOut(t, a[1], &ru)
}

// sysAlarm: alarm(seconds) returns the seconds left of the previous alarm
// (rounded up, like Linux).
func sysAlarm(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	old, _ := t.SetRealTimer(time.Duration(uint32(a[0]))*time.Second, 0)
	secs := (old + time.Second - 1) / time.Second
	if old > 0 && old < time.Second {
		secs = 1
	}
	return uintptr(secs), nil
}

func fromTimeval(tv linux.Timeval) (time.Duration, error) {
	if tv.Sec < 0 || tv.Usec < 0 || tv.Usec >= 1e6 {
		return 0, linux.EINVAL
	}
	return time.Duration(tv.Sec)*time.Second + time.Duration(tv.Usec)*time.Microsecond, nil
}

// sysSetitimer: setitimer(which, new, old). ITIMER_VIRTUAL and ITIMER_PROF
// count CPU time approximated from the time in and out of application code.
func sysSetitimer(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	var it linux.Itimerval
	if a[1] != 0 {
		if err := kernel.CopyObjectIn(t, a[1], &it); err != nil {
			return 0, err
		}
	}
	value, err := fromTimeval(it.Value)
	if err != nil {
		return 0, err
	}
	interval, err := fromTimeval(it.Interval)
	if err != nil {
		return 0, err
	}
	oldValue, oldInterval, err := t.SetITimer(int(int32(a[0])), value, interval)
	if err != nil {
		return 0, err
	}
	if a[2] != 0 {
		old := linux.Itimerval{Interval: toTimeval(oldInterval), Value: toTimevalUp(oldValue)}
		return 0, kernel.CopyObjectOut(t, a[2], &old)
	}
	return 0, nil
}

// sysGetitimer: getitimer(which, value).
func sysGetitimer(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	value, interval, err := t.ITimer(int(int32(a[0])))
	if err != nil {
		return 0, err
	}
	it := linux.Itimerval{Interval: toTimeval(interval), Value: toTimevalUp(value)}
	return 0, kernel.CopyObjectOut(t, a[1], &it)
}

// toTimevalUp is toTimeval rounding up, so that a timer about to expire
// does not read as disarmed.
func toTimevalUp(d time.Duration) linux.Timeval {
	return toTimeval((d + time.Microsecond - 1) / time.Microsecond * time.Microsecond)
}
