package ptrace

import (
	"runtime"
	"sync/atomic"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"bulwark.dev/pkg/platform"
	"bulwark.dev/pkg/platform/internal/platformtest"
	istub "bulwark.dev/pkg/platform/internal/stub"
)

// tracedThread returns a stub thread traced by the calling goroutine's
// thread, which it locks for good (the thread ends with the goroutine,
// killing the stub), stopped at a syscall in the getppid loop.
func tracedThread(b *testing.B) (*Platform, *stub) {
	p, _ := newTestPlatform(b)
	as := platformtest.NewMappedAS(b, p).(*addressSpace)
	runtime.LockOSThread()
	th, err := as.newThread()
	if err != nil {
		b.Fatal(err)
	}
	if err := th.seize(); err != nil {
		b.Fatal(err)
	}
	// Apply the mappings recorded until a first run (pending.go).
	if err := as.goLive(th); err != nil {
		b.Fatal(err)
	}
	r := platformtest.StartRegs(platformtest.RIPLoop)
	if _, err := th.switchTo(&r, new(atomic.Bool)); err != nil {
		b.Fatal(err)
	}
	return p, th
}

// sysemu resumes th under PTRACE_SYSEMU and waits for its next syscall stop.
func sysemu(b *testing.B, th *stub) {
	if err := istub.Ptrace(ptraceSysemu, th.PID, 0, 0); err != nil {
		b.Fatal(err)
	}
	var ws unix.WaitStatus
	if _, err := unix.Wait4(th.PID, &ws, unix.WALL, nil); err != nil || ws.StopSignal() != syscallStopSig {
		b.Fatalf("wait4: %v %v", ws, err)
	}
}

// The pieces of a round trip, each timed on its own on a stub thread
// traced by the benchmark's thread.

func BenchmarkPieceSysemuWait4(b *testing.B) {
	_, th := tracedThread(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sysemu(b, th)
	}
}

func BenchmarkPieceGetRegs(b *testing.B) {
	_, th := tracedThread(b)
	var r platform.Registers
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := unix.PtraceGetRegs(th.PID, &r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPieceSetRegs(b *testing.B) {
	_, th := tracedThread(b)
	var r platform.Registers
	unix.PtraceGetRegs(th.PID, &r)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := unix.PtraceSetRegs(th.PID, &r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPiecePokeUserRax(b *testing.B) {
	_, th := tracedThread(b)
	var r platform.Registers
	off := unsafe.Offsetof(r.Rax)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := istub.Ptrace(unix.PTRACE_POKEUSR, th.PID, off, 1); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPieceGetFP(b *testing.B) {
	p, th := tracedThread(b)
	buf := make([]byte, len(p.fp.initial))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := p.fp.getFP(th, buf); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPieceGettid(b *testing.B) {
	for i := 0; i < b.N; i++ {
		unix.Gettid()
	}
}

// BenchmarkPieceThreadHandoff is a round trip of a closure to another
// locked thread and back, as the tracer of an address space does.
func BenchmarkPieceThreadHandoff(b *testing.B) {
	t, err := startTracer(func() error { return nil })
	if err != nil {
		b.Fatal(err)
	}
	defer t.Stop()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		t.Do(func() {})
	}
}
