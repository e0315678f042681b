package stub

import (
	"sync"

	"golang.org/x/sys/unix"
)

// The tracer side of CPU affinity. A stub thread pinned to the CPU of its
// tracer (Pin) still loses most of the gain when Linux wakes the tracer on
// the other CPU at the stub's next stop: an inter-processor interrupt, and
// a trap that costs what two unpinned threads cost. Measured here, a
// getppid round trip took 25 µs with the stub alone pinned and 17 µs with
// both threads on one CPU, as fast as the same loop written in C.
//
// Pinning every tracer does not work: nginx's two busy workers then shared
// one CPU while the other idled, and served a fifth fewer requests. So a
// tracer is pinned only while at most one context of the platform is
// active (made a Switch in the last unpinPeriod): a single-threaded program
// gets the local round trip, several busy ones stay free for Linux to
// spread.

// HostPin is the CPU affinity of the OS thread that traces a context's
// stub threads. Its methods are called by that thread's goroutine.
type HostPin struct {
	a   *Affinity
	cpu int // the CPU the thread is pinned to, or -1 (the process's set)
}

// NewHostPin returns the affinity of a tracer thread, not pinned yet.
func (a *Affinity) NewHostPin() HostPin {
	a.procSetOnce.Do(func() {
		a.procSetOK = unix.SchedGetaffinity(0, &a.procSet) == nil
	})
	return HostPin{a: a, cpu: -1}
}

// Follow pins the calling thread to the CPU of p, the stub thread it is
// about to resume, when p is pinned there (local, from p.Follow) and no
// other context is active; otherwise it frees the thread. A failure
// leaves the thread as it is: affinity is only an optimization.
func (h *HostPin) Follow(p *Pin, local bool) {
	want := -1
	if local && h.a.active.Load() <= 1 {
		want = p.cpu
	}
	if want == h.cpu {
		return
	}
	if want >= 0 {
		var set unix.CPUSet
		set.Set(want)
		if unix.SchedSetaffinity(0, &set) != nil {
			return
		}
		h.cpu = want
		return
	}
	h.Release()
}

// Release gives the calling thread back the process's CPU set. The
// context calls it before unlocking the thread, which other goroutines
// then run on.
func (h *HostPin) Release() {
	if h.cpu < 0 || !h.a.procSetOK {
		return
	}
	if unix.SchedSetaffinity(0, &h.a.procSet) == nil {
		h.cpu = -1
	}
}

// hostState is the Affinity's part for HostPins.
type hostState struct {
	procSetOnce sync.Once
	procSet     unix.CPUSet // the process's CPU set when the first HostPin was made
	procSetOK   bool
}
