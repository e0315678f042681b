package stub

import (
	"encoding/binary"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

func TestCurrentCPU(t *testing.T) {
	if !ProbeCPU() {
		t.Skip("this host does not tell a thread its CPU without a system call")
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var all unix.CPUSet
	if err := unix.SchedGetaffinity(0, &all); err != nil {
		t.Fatal(err)
	}
	defer unix.SchedSetaffinity(0, &all)
	for cpu := 0; cpu < 1024; cpu++ {
		if !all.IsSet(cpu) {
			continue
		}
		var one unix.CPUSet
		one.Set(cpu)
		if err := unix.SchedSetaffinity(0, &one); err != nil {
			t.Fatal(err)
		}
		if got, ok := CurrentCPU(); !ok || got != cpu {
			t.Errorf("CurrentCPU() = %d, %v on CPU %d", got, ok, cpu)
		}
	}
}

func TestPinMasks(t *testing.T) {
	img := make([]byte, PinMasksEnd)
	WritePinMasks(img)
	for _, cpu := range []int{0, 5, MaxPinCPU - 1} {
		off := PinMaskAddr(cpu) - Addr
		if got := binary.LittleEndian.Uint64(img[off:]); got != 1<<cpu {
			t.Errorf("set of CPU %d = %#x", cpu, got)
		}
	}
	all := img[AllMaskAddr()-Addr:]
	if len(all) != AllMaskSize || all[0] != 0xff || all[AllMaskSize-1] != 0xff {
		t.Errorf("set of all CPUs: % x", all)
	}
}

// lockedAffinity locks the test to its thread, on a host that tells a
// thread its CPU, and returns an Affinity closed at the test's end.
func lockedAffinity(t *testing.T) *Affinity {
	t.Helper()
	if !ProbeCPU() {
		t.Skip("this host does not tell a thread its CPU without a system call")
	}
	runtime.LockOSThread()
	t.Cleanup(runtime.UnlockOSThread)
	a := new(Affinity)
	t.Cleanup(a.Close)
	return a
}

// TestAffinity checks that Follow pins once per CPU and that a thread in
// the same Switch for a whole period is freed, then pinned again.
func TestAffinity(t *testing.T) {
	a := lockedAffinity(t)
	var sets, unsets atomic.Int32
	p := a.NewPin(func(int) error { sets.Add(1); return nil }, func() { unsets.Add(1) })
	defer p.Forget()
	// The thread may move between two calls: it then pins again.
	cpu, _ := CurrentCPU()
	if !p.Follow() || !p.Follow() {
		t.Fatal("Follow: not local")
	}
	if now, _ := CurrentCPU(); now == cpu && sets.Load() != 1 {
		t.Fatalf("%d pins on one CPU, want 1", sets.Load())
	}
	p.Enter()
	for deadline := time.Now().Add(5 * time.Second); unsets.Load() == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("a thread in a long Switch was not freed")
		}
	}
	p.Exit()
	before := sets.Load()
	p.Follow()
	if sets.Load() != before+1 {
		t.Errorf("a freed thread was not pinned again")
	}
	// Threads that switch often stay pinned.
	unsets.Store(0)
	for end := time.Now().Add(3 * unpinPeriod); time.Now().Before(end); {
		p.Enter()
		time.Sleep(unpinPeriod / 10)
		p.Exit()
	}
	if unsets.Load() != 0 {
		t.Errorf("a thread that switches often was freed")
	}
}

func TestQuietStops(t *testing.T) {
	if err := QuietStops(); err != nil {
		t.Fatal(err)
	}
	var act kernelSigaction
	if _, _, e := unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(unix.SIGCHLD), 0,
		uintptr(unsafe.Pointer(&act)), 8, 0, 0); e != 0 {
		t.Fatal(e)
	}
	if act.flags&saNoCldStop == 0 || act.handler == 0 {
		t.Errorf("SIGCHLD action %+v: want the runtime's handler with SA_NOCLDSTOP", act)
	}
}

// TestAffinityFailedPin checks that a pinning that fails is reported and
// not retried on the same CPU.
func TestAffinityFailedPin(t *testing.T) {
	a := lockedAffinity(t)
	var sets atomic.Int32
	p := a.NewPin(func(int) error { sets.Add(1); return unix.EINVAL }, func() { t.Error("freed a thread never pinned") })
	cpu, _ := CurrentCPU()
	if p.Follow() || p.Follow() {
		t.Error("Follow reported a failed pinning as local")
	}
	if now, _ := CurrentCPU(); now == cpu && sets.Load() != 1 {
		t.Errorf("%d tries on one CPU, want 1", sets.Load())
	}
}

// TestAffinityMovesWhenSettled checks that a thread follows the caller to
// another CPU only after moveAfter Switches in a row there.
func TestAffinityMovesWhenSettled(t *testing.T) {
	cpu := 0
	currentCPU = func() (int, bool) { return cpu, true }
	defer func() { currentCPU = CurrentCPU }()
	a := new(Affinity)
	defer a.Close()
	var pins []int
	p := a.NewPin(func(c int) error { pins = append(pins, c); return nil }, func() {})
	defer p.Forget()
	if !p.Follow() {
		t.Fatal("first Follow: not local")
	}
	cpu = 1
	for i := 1; i < moveAfter; i++ {
		if p.Follow() {
			t.Fatalf("Follow %d from another CPU moved the thread", i)
		}
		if i == moveAfter/2 { // a Switch back on the pinned CPU resets the count
			cpu = 0
			p.Follow()
			cpu = 1
		}
	}
	for i := moveAfter / 2; i < moveAfter; i++ {
		p.Follow()
	}
	if !p.Follow() || len(pins) != 2 || pins[1] != 1 {
		t.Errorf("pins %v after settling on CPU 1, want [0 1]", pins)
	}
}
