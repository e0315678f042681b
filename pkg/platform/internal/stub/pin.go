package stub

import (
	"encoding/binary"
	"sync"
	"sync/atomic"
	"time"
)

// Stub threads follow the CPU of the sandbox thread that resumes them.
// Every trap is a wake-up of one side by the other; when both sides share
// a CPU the wake-up is a local switch, while across CPUs it is an
// inter-processor interrupt that, on a VM whose idle CPU has halted, costs
// tens of microseconds. Linux does not keep the two together by itself:
// measured here, a ptrace round trip took 31 µs free, 16 µs on one CPU,
// 30 to 100 µs on two.
//
// A stub thread is pinned to one CPU at a time (CPU affinity, set by the
// stub itself so that the sandbox needs no new host call), and moved when
// the sandbox thread driving it has settled on another CPU: moveAfter
// Switches in a row there. Moving at once made both threads chase each
// other (the sandbox thread is often woken on the other CPU, by the Go
// scheduler's hand-offs): in runsc, half of all ptrace Switches moved the
// stub, and getppid took 38 µs instead of 27 µs. A thread pinned to one
// CPU cannot be balanced away from a busy one, so Affinity frees the
// threads that have run application code for a whole unpinPeriod without
// trapping (compute-bound code); they are pinned again at their next
// Switch.

// Layout of the CPU sets at PinMasksOffset in a stub image: MaxPinCPU sets
// of PinMaskSize bytes with one bit each, then a set of AllMaskSize bytes
// with every bit.
const (
	PinMaskSize    = 8
	AllMaskSize    = 128
	PinMasksOffset = 0xc00 // in the stub page, after each stub's code and data
	allMaskOffset  = PinMasksOffset + MaxPinCPU*PinMaskSize
	PinMasksEnd    = allMaskOffset + AllMaskSize
)

// WritePinMasks writes the CPU sets into a stub image of at least
// PinMasksEnd bytes.
func WritePinMasks(img []byte) {
	for cpu := 0; cpu < MaxPinCPU; cpu++ {
		binary.LittleEndian.PutUint64(img[PinMasksOffset+cpu*PinMaskSize:], 1<<cpu)
	}
	for i := allMaskOffset; i < PinMasksEnd; i++ {
		img[i] = 0xff
	}
}

// PinMaskAddr is the stub address of the CPU set of cpu alone
// (PinMaskSize bytes).
func PinMaskAddr(cpu int) uintptr { return Addr + PinMasksOffset + uintptr(cpu*PinMaskSize) }

// AllMaskAddr is the stub address of the set of all CPUs (AllMaskSize bytes).
func AllMaskAddr() uintptr { return Addr + allMaskOffset }

const (
	// moveAfter is how many Switches in a row the sandbox thread must
	// make from another CPU before its stub thread moves there.
	moveAfter = 32
	// unpinPeriod is how long a thread may run application code, pinned,
	// without trapping before it is freed.
	unpinPeriod = 50 * time.Millisecond
)

// currentCPU is CurrentCPU, replaced by tests.
var currentCPU = CurrentCPU

// Affinity frees the pinned threads of one platform that run for long.
type Affinity struct {
	mu     sync.Mutex
	pins   map[*Pin]struct{} // mu: pinned threads
	timer  *time.Timer       // mu: armed while pins is not empty
	closed bool              // mu
	// active is how many pinned threads made a Switch between the last
	// two ticks (HostPin).
	active atomic.Int32
	hostState
}

// Pin is the CPU affinity of one stub thread. Follow, Enter, Exit and
// Forget are called by the goroutine that resumes the thread.
type Pin struct {
	a *Affinity
	// set pins the thread to cpu, before it next runs application code.
	set func(cpu int) error
	// unset lets the thread run on any CPU; the timer calls it while the
	// thread runs application code.
	unset func()

	cpu      int           // the CPU of the last pinning, or -1; owner only
	local    bool          // the pinning to cpu worked; owner only
	away     int           // Switches in a row from another CPU; owner only
	freed    atomic.Bool   // set by the timer once it freed the thread
	inSwitch atomic.Bool   // between Enter and Exit
	gen      atomic.Uint64 // bumped by Enter: a new Switch
	seen     uint64        // a.mu: gen at the previous tick
}

// NewPin returns the affinity of a new stub thread, not pinned yet.
func (a *Affinity) NewPin(set func(cpu int) error, unset func()) *Pin {
	return &Pin{a: a, set: set, unset: unset, cpu: -1}
}

// Follow pins the thread to the caller's CPU if it is not pinned yet, was
// freed, or the caller has settled on another CPU, and reports whether
// the thread is pinned to the caller's CPU now. A failure leaves the
// thread where it is: affinity is only an optimization.
func (p *Pin) Follow() (local bool) {
	cpu, ok := currentCPU()
	if !ok || cpu >= MaxPinCPU {
		return false
	}
	pinned := p.cpu >= 0 && !p.freed.Load()
	if pinned && cpu == p.cpu {
		p.away = 0
		return p.local
	}
	if pinned {
		if p.away++; p.away < moveAfter {
			return false
		}
	}
	// Not retried on this CPU if it fails.
	p.cpu, p.local, p.away = cpu, p.set(cpu) == nil, 0
	p.freed.Store(false)
	if p.local {
		p.a.track(p)
	}
	return p.local
}

// Enter marks the start of a Switch, Exit its end.
func (p *Pin) Enter() {
	p.gen.Add(1)
	p.inSwitch.Store(true)
}

// Exit marks the end of a Switch.
func (p *Pin) Exit() { p.inSwitch.Store(false) }

// Forget stops tracking the thread, which is gone.
func (p *Pin) Forget() {
	p.a.mu.Lock()
	delete(p.a.pins, p)
	p.a.mu.Unlock()
}

// track adds a pinned thread to those the timer watches.
func (a *Affinity) track(p *Pin) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return
	}
	if a.pins == nil {
		a.pins = make(map[*Pin]struct{})
	}
	p.seen = p.gen.Load()
	a.pins[p] = struct{}{}
	if a.timer == nil {
		a.timer = time.AfterFunc(unpinPeriod, a.tick)
	} else if len(a.pins) == 1 {
		a.timer.Reset(unpinPeriod)
	}
}

// tick counts the threads that made a Switch since the previous tick and
// frees those that have been in the same Switch since then. A thread freed
// just as its owner pins it again (after that Switch) may stay free until
// it next moves: that costs speed, never correctness.
func (a *Affinity) tick() {
	var stale []*Pin
	active := int32(0)
	a.mu.Lock()
	for p := range a.pins {
		g := p.gen.Load()
		if g != p.seen {
			active++
		}
		if p.inSwitch.Load() && g == p.seen {
			stale = append(stale, p)
			delete(a.pins, p)
			p.freed.Store(true)
		}
		p.seen = g
	}
	a.active.Store(active)
	if len(a.pins) > 0 && !a.closed {
		a.timer.Reset(unpinPeriod)
	}
	a.mu.Unlock()
	for _, p := range stale {
		p.unset()
	}
}

// Close stops the timer.
func (a *Affinity) Close() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.closed = true
	a.pins = nil
	if a.timer != nil {
		a.timer.Stop()
	}
}
