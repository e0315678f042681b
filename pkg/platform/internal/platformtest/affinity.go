package platformtest

import (
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"bulwark.dev/pkg/platform"
	istub "bulwark.dev/pkg/platform/internal/stub"
)

// testThreadFollowsCPU checks that a context's stub thread is pinned to
// the CPU of the thread that switches it, and freed while it runs
// application code for long.
func testThreadFollowsCPU(t *testing.T, h Hooks) {
	if !istub.ProbeCPU() {
		t.Skip("this host does not tell a thread its CPU without a system call")
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var all unix.CPUSet
	if err := unix.SchedGetaffinity(0, &all); err != nil {
		t.Fatal(err)
	}
	defer unix.SchedSetaffinity(0, &all)
	cpu := -1
	for i := 0; i < istub.MaxPinCPU; i++ {
		if all.IsSet(i) {
			cpu = i // the last one: not where a free thread starts
		}
	}
	var one unix.CPUSet
	one.Set(cpu)
	if err := unix.SchedSetaffinity(0, &one); err != nil {
		t.Fatal(err)
	}

	p, _ := NewPlatform(t, h.New)
	as := NewMappedAS(t, p)
	c, err := p.NewContext()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Release()
	r := StartRegs(RIPLoop)
	for i := 0; i < 2; i++ { // the pin may take effect at the next resume
		MustSwitch(t, c, as, &r)
	}
	tid := h.ThreadTID(c)
	if got := affinity(t, tid); got != one {
		t.Fatalf("stub thread %d may run on %v, want only CPU %d", tid, got, cpu)
	}
	if all.Count() == 1 {
		return
	}

	// Spinning without syscalls for long, it is freed.
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer c.Interrupt()
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if affinity(t, tid) != one {
				return
			}
		}
		t.Errorf("stub thread %d still pinned to CPU %d after spinning for 10s", tid, cpu)
	}()
	r.Rip = RIPSpin
	if trap := MustSwitch(t, c, as, &r); trap.Kind != platform.TrapInterrupted {
		t.Errorf("trap %+v, want interrupted", trap)
	}
	<-done
	// The next Switch pins it again.
	r.Rip = RIPLoop
	MustSwitch(t, c, as, &r)
	MustSwitch(t, c, as, &r)
	if got := affinity(t, tid); got != one {
		t.Errorf("stub thread %d may run on %v after a Switch, want only CPU %d", tid, got, cpu)
	}
}

// affinity returns the CPUs thread tid may run on.
func affinity(t *testing.T, tid int) unix.CPUSet {
	var s unix.CPUSet
	if err := unix.SchedGetaffinity(tid, &s); err != nil {
		t.Errorf("reading the affinity of thread %d: %v", tid, err)
	}
	return s
}
