package kernel

import (
	"time"

	"bulwark.dev/pkg/abi/linux"
)

// itimerSignals are the signals of ITIMER_REAL, ITIMER_VIRTUAL and
// ITIMER_PROF.
var itimerSignals = [3]int{linux.SIGALRM, linux.SIGVTALRM, linux.SIGPROF}

// itimerLocked returns tg's interval timer which, creating it disarmed.
// ITIMER_VIRTUAL counts the process's user time and ITIMER_PROF its user
// and system time (both approximated from the time spent in and out of
// application code).
func (tg *ThreadGroup) itimerLocked(which int) *ktimer {
	if kt := tg.itimers[which]; kt != nil {
		return kt
	}
	k, sig := tg.k, itimerSignals[which]
	kt := &ktimer{k: k, fire: func(int64) {
		k.sendGroupLocked(tg, kernelInfo(sig), sendFromSandbox)
	}}
	switch which {
	case linux.ITIMER_VIRTUAL:
		kt.cpu = func() time.Duration { return tg.cpuTimeLocked(false) }
	case linux.ITIMER_PROF:
		kt.cpu = func() time.Duration { return tg.cpuTimeLocked(true) }
	}
	tg.itimers[which] = kt
	return kt
}

// SetITimer implements setitimer: it arms the process's interval timer
// which (linux.ITIMER_*) to expire after value (0 disarms) and then every
// interval, and returns the time that was left and the old interval.
func (t *Task) SetITimer(which int, value, interval time.Duration) (oldValue, oldInterval time.Duration, err error) {
	if which < 0 || which >= len(itimerSignals) {
		return 0, 0, linux.EINVAL
	}
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	kt := t.tg.itimerLocked(which)
	oldValue, oldInterval = kt.remainingLocked(), kt.interval
	if t.tg.exiting || t.tg.zombie {
		value = 0
	}
	kt.setLocked(value, interval)
	return oldValue, oldInterval, nil
}

// ITimer implements getitimer.
func (t *Task) ITimer(which int) (value, interval time.Duration, err error) {
	if which < 0 || which >= len(itimerSignals) {
		return 0, 0, linux.EINVAL
	}
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	kt := t.tg.itimers[which]
	if kt == nil {
		return 0, 0, nil
	}
	return kt.remainingLocked(), kt.interval, nil
}

// SetRealTimer implements setitimer(ITIMER_REAL) and alarm.
func (t *Task) SetRealTimer(value, interval time.Duration) (oldValue, oldInterval time.Duration) {
	oldValue, oldInterval, _ = t.SetITimer(linux.ITIMER_REAL, value, interval)
	return oldValue, oldInterval
}

// RealTimer implements getitimer(ITIMER_REAL).
func (t *Task) RealTimer() (value, interval time.Duration) {
	value, interval, _ = t.ITimer(linux.ITIMER_REAL)
	return value, interval
}

// stopTimersLocked disarms every timer of tg (the process exited).
func (tg *ThreadGroup) stopTimersLocked() {
	for _, kt := range tg.itimers {
		if kt != nil {
			kt.stopLocked()
		}
	}
	tg.deletePosixTimersLocked()
}
