package kernel

import (
	"time"

	"bulwark.dev/pkg/abi/linux"
)

// realTimer is a process's ITIMER_REAL (alarm): SIGALRM at deadline, then
// every interval if non-zero. Its fields are protected by k.mu.
type realTimer struct {
	timer    *time.Timer
	deadline time.Time
	interval time.Duration
}

// SetRealTimer implements setitimer(ITIMER_REAL) and alarm: it arms the
// process's real-time timer to fire after value (0 disarms) and then every
// interval, and returns the time that was left and the old interval.
func (t *Task) SetRealTimer(value, interval time.Duration) (oldValue, oldInterval time.Duration) {
	k, tg := t.k, t.tg
	k.mu.Lock()
	defer k.mu.Unlock()
	rt := &tg.realTimer
	oldValue, oldInterval = rt.remainingLocked(), rt.interval
	if rt.timer != nil {
		rt.timer.Stop()
		rt.timer = nil
	}
	rt.interval = 0
	if value <= 0 || tg.exiting {
		return oldValue, oldInterval
	}
	rt.deadline, rt.interval = time.Now().Add(value), interval
	var fire func()
	fire = func() {
		k.mu.Lock()
		defer k.mu.Unlock()
		if tg.realTimer.timer == nil || tg.zombie {
			return
		}
		k.sendGroupLocked(tg, kernelInfo(linux.SIGALRM), sendForced)
		if rt.interval > 0 {
			rt.deadline = rt.deadline.Add(rt.interval)
			rt.timer = time.AfterFunc(time.Until(rt.deadline), fire)
		} else {
			rt.timer = nil
		}
	}
	rt.timer = time.AfterFunc(value, fire)
	return oldValue, oldInterval
}

// RealTimer implements getitimer(ITIMER_REAL).
func (t *Task) RealTimer() (value, interval time.Duration) {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	rt := &t.tg.realTimer
	return rt.remainingLocked(), rt.interval
}

func (rt *realTimer) remainingLocked() time.Duration {
	if rt.timer == nil {
		return 0
	}
	return max(time.Until(rt.deadline), time.Microsecond)
}

// stopLocked disarms the timer (the process exited).
func (rt *realTimer) stopLocked() {
	if rt.timer != nil {
		rt.timer.Stop()
		rt.timer = nil
	}
}
