package kernel

import (
	"encoding/binary"
	"time"

	"bulwark.dev/pkg/abi/linux"
)

// maxPosixTimers bounds the POSIX timers of one process (linux.EAGAIN).
const maxPosixTimers = 4096

// posixTimer is one timer_create timer. Its fields are protected by k.mu.
type posixTimer struct {
	id     int32
	tg     *ThreadGroup
	kt     ktimer
	clock  int32
	notify int32
	signo  int
	value  uint64 // sigev_value
	target *Task  // SIGEV_THREAD_ID

	queued      bool  // its signal is pending
	overrun     int64 // expirations since the pending signal was queued
	lastOverrun int64 // overrun of the last delivered signal (timer_getoverrun)
}

// TimerSpec is a timer's setting: time to the next expiry and interval.
type TimerSpec struct {
	Value, Interval time.Duration
}

// TimerCreate implements timer_create for clock with ev (nil: SIGEV_SIGNAL
// with SIGALRM and the timer id as value). It returns the timer id.
func (t *Task) TimerCreate(clock int32, ev *linux.SigEvent) (int32, error) {
	var cpu func() time.Duration
	tg := t.tg
	switch clock {
	case linux.CLOCK_REALTIME, linux.CLOCK_MONOTONIC, linux.CLOCK_BOOTTIME, linux.CLOCK_TAI,
		linux.CLOCK_REALTIME_ALARM, linux.CLOCK_BOOTTIME_ALARM:
	case linux.CLOCK_PROCESS_CPUTIME_ID:
		cpu = func() time.Duration { return tg.cpuTimeLocked(true) }
	case linux.CLOCK_THREAD_CPUTIME_ID:
		cpu = func() time.Duration { return t.cpuTimeNow(true) }
	case linux.CLOCK_MONOTONIC_RAW, linux.CLOCK_REALTIME_COARSE, linux.CLOCK_MONOTONIC_COARSE:
		return 0, linux.ENOTSUP
	default:
		if clock >= 0 {
			return 0, linux.EINVAL
		}
	}
	k := t.k
	k.mu.Lock()
	defer k.mu.Unlock()
	if clock < 0 {
		c, err := t.cpuClockLocked(clock)
		if err != nil {
			return 0, err
		}
		cpu = c
	}
	p := &posixTimer{tg: tg, clock: clock, notify: linux.SIGEV_SIGNAL, signo: linux.SIGALRM}
	if ev != nil {
		p.notify, p.signo, p.value = ev.Notify, int(ev.Signo), ev.Value
		switch ev.Notify {
		case linux.SIGEV_NONE:
		case linux.SIGEV_SIGNAL, linux.SIGEV_SIGNAL | linux.SIGEV_THREAD_ID:
			if !validSignal(p.signo) {
				return 0, linux.EINVAL
			}
			if ev.Notify&linux.SIGEV_THREAD_ID != 0 {
				target := k.tasks[ev.TID]
				if target == nil || target.tg != tg {
					return 0, linux.EINVAL
				}
				p.target = target
			}
		default:
			return 0, linux.EINVAL
		}
	}
	if tg.timers == nil {
		tg.timers = make(map[int32]*posixTimer)
	}
	if len(tg.timers) >= maxPosixTimers {
		return 0, linux.EAGAIN
	}
	for tg.timers[tg.nextTimerID] != nil {
		tg.nextTimerID = (tg.nextTimerID + 1) & (1<<31 - 1)
	}
	p.id = tg.nextTimerID
	tg.nextTimerID = (tg.nextTimerID + 1) & (1<<31 - 1)
	if ev == nil {
		p.value = uint64(p.id)
	}
	p.kt = ktimer{k: k, cpu: cpu, fire: p.fireLocked}
	tg.timers[p.id] = p
	return p.id, nil
}

// fireLocked sends the timer's signal, or counts an overrun while the
// previous one is still pending.
func (p *posixTimer) fireLocked(overruns int64) {
	if p.notify == linux.SIGEV_NONE {
		return
	}
	if p.queued {
		p.overrun += 1 + overruns
		return
	}
	p.overrun += overruns
	info := linux.SignalInfo{Signo: int32(p.signo), Code: linux.SI_TIMER}
	putInt32(info.Data[linux.SigInfoTimerIDOff:], p.id)
	binary.LittleEndian.PutUint64(info.Data[linux.SigInfoValueOff:], p.value)
	k, tg := p.tg.k, p.tg
	var sent bool
	if p.target != nil && !p.target.exited {
		sent = k.sendLocked(tg, p.target, info, sendFromSandbox)
	} else {
		sent = k.sendGroupLocked(tg, info, sendFromSandbox)
	}
	p.queued = sent
}

// timerDequeuedLocked completes the siginfo of a POSIX timer's signal as it
// is taken: the overrun count moves into it.
func (tg *ThreadGroup) timerDequeuedLocked(info *linux.SignalInfo) {
	id := int32(binary.LittleEndian.Uint32(info.Data[linux.SigInfoTimerIDOff:]))
	p := tg.timers[id]
	if p == nil || !p.queued || int(info.Signo) != p.signo {
		return
	}
	p.queued = false
	p.lastOverrun = min(p.overrun, linux.DELAYTIMER_MAX)
	p.overrun = 0
	putInt32(info.Data[linux.SigInfoOverrunOff:], int32(p.lastOverrun))
}

func (t *Task) posixTimerLocked(id int32) (*posixTimer, error) {
	p := t.tg.timers[id]
	if p == nil {
		return nil, linux.EINVAL
	}
	return p, nil
}

// TimerSet implements timer_settime: it arms timer id with spec (Value
// absolute on the timer's clock when abs) and returns the old setting.
func (t *Task) TimerSet(id int32, abs bool, spec TimerSpec) (TimerSpec, error) {
	k := t.k
	k.mu.Lock()
	defer k.mu.Unlock()
	p, err := t.posixTimerLocked(id)
	if err != nil {
		return TimerSpec{}, err
	}
	old := TimerSpec{Value: p.kt.remainingLocked(), Interval: p.kt.interval}
	value := spec.Value
	if abs && value > 0 {
		now, err := p.nowLocked(t)
		if err != nil {
			return TimerSpec{}, err
		}
		// A time already passed expires at once.
		value = max(value-now, time.Nanosecond)
	}
	p.overrun = 0
	p.kt.setLocked(value, spec.Interval)
	return old, nil
}

// nowLocked reads the timer's clock.
func (p *posixTimer) nowLocked(t *Task) (time.Duration, error) {
	if p.kt.cpu != nil {
		return p.kt.cpu(), nil
	}
	switch p.clock {
	case linux.CLOCK_REALTIME, linux.CLOCK_REALTIME_ALARM:
		return time.Duration(time.Now().UnixNano()), nil
	case linux.CLOCK_TAI:
		return time.Duration(time.Now().UnixNano()) + 37*time.Second, nil
	}
	return t.k.Uptime(), nil
}

// TimerGet implements timer_gettime.
func (t *Task) TimerGet(id int32) (TimerSpec, error) {
	k := t.k
	k.mu.Lock()
	defer k.mu.Unlock()
	p, err := t.posixTimerLocked(id)
	if err != nil {
		return TimerSpec{}, err
	}
	return TimerSpec{Value: p.kt.remainingLocked(), Interval: p.kt.interval}, nil
}

// TimerGetOverrun implements timer_getoverrun.
func (t *Task) TimerGetOverrun(id int32) (int32, error) {
	k := t.k
	k.mu.Lock()
	defer k.mu.Unlock()
	p, err := t.posixTimerLocked(id)
	if err != nil {
		return 0, err
	}
	return int32(p.lastOverrun), nil
}

// TimerDelete implements timer_delete: the timer stops and a signal of it
// still pending is discarded.
func (t *Task) TimerDelete(id int32) error {
	k := t.k
	k.mu.Lock()
	defer k.mu.Unlock()
	p, err := t.posixTimerLocked(id)
	if err != nil {
		return err
	}
	p.deleteLocked()
	return nil
}

// deleteLocked stops p, drops its pending signal and forgets it.
func (p *posixTimer) deleteLocked() {
	p.kt.stopLocked()
	tg := p.tg
	if p.queued {
		mine := func(info *linux.SignalInfo) bool {
			return info.Code == linux.SI_TIMER &&
				int32(binary.LittleEndian.Uint32(info.Data[linux.SigInfoTimerIDOff:])) == p.id
		}
		tg.pending.remove(p.signo, mine)
		if p.target != nil {
			p.target.pending.remove(p.signo, mine)
		}
	}
	delete(tg.timers, p.id)
}

// deletePosixTimersLocked deletes every POSIX timer of tg (exit, execve).
func (tg *ThreadGroup) deletePosixTimersLocked() {
	for _, p := range tg.timers {
		p.deleteLocked()
	}
}
