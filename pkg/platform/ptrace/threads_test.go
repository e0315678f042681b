package ptrace

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"

	"bulwark.dev/pkg/platform"
)

// TestContextsShareAddressSpace runs two contexts in one address space at
// once: one spins in application code while the other makes syscalls, and
// MapFile does not wait for the spinning one.
func TestContextsShareAddressSpace(t *testing.T) {
	p, _ := newTestPlatform(t)
	as := newMappedAS(t, p)
	spin, _ := p.NewContext()
	defer spin.Release()
	errc := make(chan error, 1)
	go func() {
		r := startRegs(ripSpin)
		trap, err := spin.Switch(as, &r)
		if err == nil && trap.Kind != platform.TrapInterrupted {
			t.Errorf("spinning context: trap %v", trap.Kind)
		}
		errc <- err
	}()
	time.Sleep(20 * time.Millisecond)

	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := as.MapFile(0x500000, 0x1000, 0x1000, platform.ProtRead); err != nil {
			t.Errorf("MapFile while another context runs: %v", err)
		}
		c, _ := p.NewContext()
		defer c.Release()
		r := startRegs(ripLoop)
		for i := 0; i < 3; i++ {
			if trap, err := c.Switch(as, &r); err != nil || trap.Kind != platform.TrapSyscall || r.Orig_rax != 39 {
				t.Errorf("syscall in second context: %v %v rax=%d", trap.Kind, err, r.Orig_rax)
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("MapFile or a second context waited for the spinning one")
	}
	spin.Interrupt()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

// TestFPStateIsPerContext sets different SSE registers in two contexts of
// one address space and checks each keeps its own across switches.
func TestFPStateIsPerContext(t *testing.T) {
	p, _ := newTestPlatform(t)
	as := newMappedAS(t, p)
	const xmm0 = 160 // offset of xmm0 in the FXSAVE area
	var ctxs [2]platform.Context
	for i := range ctxs {
		c, err := p.NewContext()
		if err != nil {
			t.Fatal(err)
		}
		defer c.Release()
		ctxs[i] = c
		fc := c.(platform.FPContext)
		st, err := fc.FPState()
		if err != nil {
			t.Fatal(err)
		}
		if fcw, mxcsr := binary.LittleEndian.Uint16(st), binary.LittleEndian.Uint32(st[24:]); fcw != 0x37f || mxcsr != 0x1f80 {
			t.Errorf("initial FCW %#x MXCSR %#x, want 0x37f 0x1f80", fcw, mxcsr)
		}
		copy(st[xmm0:], bytes.Repeat([]byte{byte(0x11 * (i + 1))}, 16))
		if err := fc.SetFPState(st); err != nil {
			t.Fatal(err)
		}
	}
	for round := 0; round < 2; round++ {
		for i, c := range ctxs {
			r := startRegs(ripLoop)
			mustSwitch(t, c, as, &r)
			st, err := c.(platform.FPContext).FPState()
			if err != nil {
				t.Fatal(err)
			}
			if want := bytes.Repeat([]byte{byte(0x11 * (i + 1))}, 16); !bytes.Equal(st[xmm0:xmm0+16], want) {
				t.Errorf("context %d round %d: xmm0 = %x, want %x", i, round, st[xmm0:xmm0+16], want)
			}
		}
	}
	// A bad MXCSR is refused; nil resets.
	fc := ctxs[0].(platform.FPContext)
	st, _ := fc.FPState()
	st[24], st[25], st[26], st[27] = 0xff, 0xff, 0xff, 0xff
	if err := fc.SetFPState(st); err == nil {
		t.Error("SetFPState with reserved MXCSR bits succeeded")
	}
	if err := fc.SetFPState(nil); err != nil {
		t.Fatal(err)
	}
	r := startRegs(ripLoop)
	mustSwitch(t, ctxs[0], as, &r)
	st, _ = fc.FPState()
	if !bytes.Equal(st[xmm0:xmm0+16], make([]byte, 16)) {
		t.Errorf("xmm0 after reset = %x", st[xmm0:xmm0+16])
	}
}

// TestMapFileInOwnThread checks that a goroutine whose context runs in an
// address space maps memory through its own stub thread: it does not need
// the address space's tracer, which is kept busy here.
func TestMapFileInOwnThread(t *testing.T) {
	p, _ := newTestPlatform(t)
	as := newMappedAS(t, p)
	c, _ := p.NewContext()
	defer c.Release()
	r := startRegs(codeAddr)
	mustSwitch(t, c, as, &r) // getpid
	r.Rax = 7
	mustSwitch(t, c, as, &r) // exit(7)

	busy, release := make(chan struct{}), make(chan struct{})
	go as.(*addressSpace).t.Do(func() { close(busy); <-release })
	<-busy
	defer close(release)
	// The next instructions store rdi at the data page, then read 0x500000,
	// which faults until it is mapped.
	if err := as.MapFile(0x500000, 0x1000, 0x1000, platform.ProtRead); err != nil {
		t.Fatalf("MapFile: %v", err)
	}
	trap := mustSwitch(t, c, as, &r)
	if trap.Kind != platform.TrapSignal || r.Rip != ripInt3+1 || r.Rax != 7 {
		t.Fatalf("trap %+v rip %#x rax %d, want the int3 after reading 7 from the new mapping", trap, r.Rip, r.Rax)
	}
	if err := as.Unmap(0x500000, 0x1000); err != nil {
		t.Fatalf("Unmap: %v", err)
	}
	r.Rip = ripStore + 8 // the load from 0x500000
	if trap := mustSwitch(t, c, as, &r); trap.Kind != platform.TrapFault || trap.Addr != 0x500000 {
		t.Fatalf("trap %+v after Unmap, want a fault at 0x500000", trap)
	}
}
