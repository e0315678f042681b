package kernel

import (
	"time"

	"bulwark.dev/pkg/abi/linux"
)

// ticks converts a duration to clock ticks (USER_HZ).
func ticks(d time.Duration) int64 { return int64(d / (time.Second / linux.CLK_TCK)) }

// Ticks converts a duration to clock ticks (USER_HZ) for times(2) and
// /proc.
func Ticks(d time.Duration) int64 { return ticks(d) }

// Now returns the time of clock (CLOCK_*), as a duration since the clock's
// epoch: the Unix epoch for CLOCK_REALTIME and TAI, the kernel's boot for
// the monotonic clocks, and the CPU time used for the CPU-time clocks.
func (t *Task) Now(clock int32) (time.Duration, error) {
	switch clock {
	case linux.CLOCK_REALTIME, linux.CLOCK_REALTIME_COARSE, linux.CLOCK_REALTIME_ALARM:
		return time.Duration(time.Now().UnixNano()), nil
	case linux.CLOCK_TAI:
		return time.Duration(time.Now().UnixNano()) + 37*time.Second, nil
	case linux.CLOCK_MONOTONIC, linux.CLOCK_MONOTONIC_RAW, linux.CLOCK_MONOTONIC_COARSE,
		linux.CLOCK_BOOTTIME, linux.CLOCK_BOOTTIME_ALARM:
		return t.k.Uptime(), nil
	case linux.CLOCK_PROCESS_CPUTIME_ID:
		u, s, _, _ := t.ProcessCPUTimes()
		return u + s, nil
	case linux.CLOCK_THREAD_CPUTIME_ID:
		u, s := t.cpuTimes()
		return u + s, nil
	}
	if clock < 0 {
		t.k.mu.Lock()
		defer t.k.mu.Unlock()
		read, err := t.cpuClockLocked(clock)
		if err != nil {
			return 0, err
		}
		return read(), nil
	}
	return 0, linux.EINVAL
}

// Deadline turns an absolute time of clock (as Now reports it) into a
// wall-clock deadline for BlockUntil.
func (t *Task) Deadline(clock int32, abs time.Duration) (time.Time, error) {
	now, err := t.Now(clock)
	if err != nil {
		return time.Time{}, err
	}
	return time.Now().Add(abs - now), nil
}

// Sleep blocks until deadline passes (nil) or a signal arrives
// (linux.ERESTARTSYS).
func (t *Task) Sleep(deadline time.Time) error {
	err := t.BlockUntil(nil, deadline)
	if err == linux.ETIMEDOUT {
		return nil
	}
	return err
}
