package kernel

import (
	"time"

	"bulwark.dev/pkg/abi/linux"
)

// minTimerDelay bounds how often a timer's goroutine callback runs, however
// short its interval: expirations in between are counted as overruns.
const minTimerDelay = 50 * time.Microsecond

// cpuPollDelay is the longest a CPU-time timer waits before it looks at
// the CPU clock again when the clock advanced slower than real time.
const cpuPollDelay = time.Millisecond

// ktimer is an interval timer on one clock, the common part of itimers and
// POSIX timers. A wall timer (real-time and monotonic clocks) expires at a
// point in real time; a CPU timer expires when its CPU clock (sampled by
// cpu) reaches a deadline, which is checked by polling in real time (CPU
// time never runs faster than real time per thread). Its fields are
// protected by k.mu; fire runs with k.mu held.
type ktimer struct {
	k    *Kernel
	cpu  func() time.Duration // nil for a wall timer
	fire func(overruns int64)

	timer    *time.Timer
	gen      uint64 // bumped at every change: stale callbacks do nothing
	armed    bool
	wall     time.Time     // next expiry of a wall timer
	cpuAt    time.Duration // next expiry of a CPU timer, on its clock
	interval time.Duration
}

// remainingLocked returns the time until the next expiry, 0 when disarmed.
func (kt *ktimer) remainingLocked() time.Duration {
	if !kt.armed {
		return 0
	}
	var d time.Duration
	if kt.cpu != nil {
		d = kt.cpuAt - kt.cpu()
	} else {
		d = time.Until(kt.wall)
	}
	// An armed timer never reports 0, which would mean disarmed.
	return max(d, time.Nanosecond)
}

// setLocked arms the timer to expire after value and then every interval;
// a zero value disarms it.
func (kt *ktimer) setLocked(value, interval time.Duration) {
	kt.stopLocked()
	if value <= 0 {
		return
	}
	kt.armed, kt.interval = true, interval
	if kt.cpu != nil {
		kt.cpuAt = kt.cpu() + value
		kt.scheduleLocked(min(value, cpuPollDelay))
		return
	}
	kt.wall = time.Now().Add(value)
	kt.scheduleLocked(value)
}

// stopLocked disarms the timer.
func (kt *ktimer) stopLocked() {
	kt.gen++
	kt.armed = false
	kt.interval = 0
	if kt.timer != nil {
		kt.timer.Stop()
		kt.timer = nil
	}
}

func (kt *ktimer) scheduleLocked(d time.Duration) {
	gen := kt.gen
	kt.timer = time.AfterFunc(max(d, minTimerDelay), func() { kt.expire(gen) })
}

// expire is the goroutine callback: it fires the timer when its clock has
// reached the deadline, counting the intervals missed as overruns, and
// schedules the next look.
func (kt *ktimer) expire(gen uint64) {
	k := kt.k
	k.mu.Lock()
	defer k.mu.Unlock()
	if kt.gen != gen || !kt.armed {
		return
	}
	var late, next time.Duration
	if kt.cpu != nil {
		now := kt.cpu()
		if now < kt.cpuAt {
			kt.scheduleLocked(min(kt.cpuAt-now, cpuPollDelay))
			return
		}
		late = now - kt.cpuAt
	} else {
		now := time.Now()
		if now.Before(kt.wall) {
			kt.scheduleLocked(kt.wall.Sub(now))
			return
		}
		late = now.Sub(kt.wall)
	}
	var overruns int64
	if kt.interval > 0 {
		n := late / kt.interval
		overruns = int64(n)
		step := (n + 1) * kt.interval
		if kt.cpu != nil {
			kt.cpuAt += step
		} else {
			kt.wall = kt.wall.Add(step)
		}
		next = step - late
		if kt.cpu != nil {
			next = min(next, cpuPollDelay)
		}
		kt.scheduleLocked(next)
	} else {
		kt.armed = false
		kt.timer = nil
	}
	kt.fire(overruns)
}

// cpuTimeLocked is the CPU time tg's live tasks used: user time, plus
// system time when withSys, counting a run of application code still in
// progress.
func (tg *ThreadGroup) cpuTimeLocked(withSys bool) time.Duration {
	var d time.Duration
	for _, t := range tg.tasks {
		d += t.cpuTimeNow(withSys)
	}
	return d
}

// cpuTimeNow is the task's CPU time so far, counting the application code
// it is running now.
func (t *Task) cpuTimeNow(withSys bool) time.Duration {
	d := time.Duration(t.userNanos.Load())
	if withSys {
		d += time.Duration(t.sysNanos.Load())
	}
	if start := t.switchStart.Load(); start != 0 {
		d += time.Duration(time.Now().UnixNano() - start)
	}
	return d
}

// Dynamic CPU clock ids (clock_getcpuclockid, and glibc's timer_create for
// CLOCK_PROCESS_CPUTIME_ID): ~pid << 3 | perThread << 2 | kind.
const (
	cpuClockKindMask = 3
	cpuClockVirt     = 1 // user time only
	cpuClockPerTask  = 4
	cpuClockMaxKind  = 2 // CPUCLOCK_SCHED
)

// cpuClockLocked returns the reader of a dynamic CPU clock id (negative),
// relative to t for pid 0; linux.EINVAL when it names no clock.
func (t *Task) cpuClockLocked(id int32) (func() time.Duration, error) {
	pid := ^(id >> 3)
	kind := id & cpuClockKindMask
	if id >= 0 || kind > cpuClockMaxKind {
		return nil, linux.EINVAL
	}
	withSys := kind != cpuClockVirt
	if id&cpuClockPerTask != 0 {
		target := t
		if pid != 0 {
			target = t.k.tasks[pid]
		}
		if target == nil || target.exited {
			return nil, linux.EINVAL
		}
		return func() time.Duration { return target.cpuTimeNow(withSys) }, nil
	}
	tg := t.tg
	if pid != 0 {
		tg = t.k.tgs[pid]
	}
	if tg == nil || tg.zombie {
		return nil, linux.EINVAL
	}
	return func() time.Duration { return tg.cpuTimeLocked(withSys) }, nil
}
