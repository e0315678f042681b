package stub

import (
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// threadSet returns the calling thread's CPU set.
func threadSet(t *testing.T) unix.CPUSet {
	t.Helper()
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		t.Fatal(err)
	}
	return set
}

// TestHostPin checks that a tracer thread is pinned to its stub thread's
// CPU while at most one context is active, freed when more are or when the
// stub thread is not pinned there, and given the process's set back by
// Release.
func TestHostPin(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig := threadSet(t)
	defer unix.SchedSetaffinity(0, &orig)
	cpu := 0
	for !orig.IsSet(cpu) {
		cpu++
	}
	currentCPU = func() (int, bool) { return cpu, true }
	defer func() { currentCPU = CurrentCPU }()

	a := new(Affinity)
	defer a.Close()
	h := a.NewHostPin()
	p := a.NewPin(func(int) error { return nil }, func() {})
	defer p.Forget()
	var one unix.CPUSet
	one.Set(cpu)
	for _, step := range []struct {
		name   string
		active int32
		local  bool
		want   unix.CPUSet
	}{
		{"one active context", 1, true, one},
		{"two active contexts", 2, true, orig},
		{"active again alone", 0, true, one},
		{"stub thread not pinned here", 1, false, orig},
		{"pinned again", 1, true, one},
	} {
		a.active.Store(step.active)
		local := p.Follow()
		h.Follow(p, local && step.local)
		if got := threadSet(t); got != step.want {
			t.Errorf("%s: thread set %v, want %v", step.name, got, step.want)
		}
	}
	h.Release()
	if got := threadSet(t); got != orig {
		t.Errorf("after Release: thread set %v, want the process's %v", got, orig)
	}
}

// TestAffinityCountsActive checks that a tick counts the pinned threads
// that made a Switch since the previous one.
func TestAffinityCountsActive(t *testing.T) {
	cpu := 0
	currentCPU = func() (int, bool) { return cpu, true }
	defer func() { currentCPU = CurrentCPU }()
	a := new(Affinity)
	defer a.Close()
	nop := func(int) error { return nil }
	p1, p2 := a.NewPin(nop, func() {}), a.NewPin(nop, func() {})
	defer p1.Forget()
	defer p2.Forget()
	p1.Follow()
	p2.Follow()
	switchUntil := func(want int32, pins ...*Pin) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); a.active.Load() != want; time.Sleep(unpinPeriod / 10) {
			if time.Now().After(deadline) {
				t.Fatalf("active = %d, want %d", a.active.Load(), want)
			}
			for _, p := range pins {
				p.Enter()
				p.Exit()
			}
		}
	}
	switchUntil(2, p1, p2)
	switchUntil(1, p1)
}
