package ptrace

import (
	"testing"

	"bulwark.dev/pkg/platform"
	"bulwark.dev/pkg/platform/internal/platformtest"
)

// TestMapFileInOwnThread checks that a goroutine whose context runs in an
// address space maps memory through its own stub thread: it does not need
// the address space's tracer, which is kept busy here.
func TestMapFileInOwnThread(t *testing.T) {
	p, _ := newTestPlatform(t)
	as := platformtest.NewMappedAS(t, p)
	c, _ := p.NewContext()
	defer c.Release()
	r := platformtest.StartRegs(platformtest.CodeAddr)
	platformtest.MustSwitch(t, c, as, &r) // getpid
	r.Rax = 7
	platformtest.MustSwitch(t, c, as, &r) // exit(7)

	busy, release := make(chan struct{}), make(chan struct{})
	go as.(*addressSpace).t.Do(func() { close(busy); <-release })
	<-busy
	defer close(release)
	// The next instructions store rdi at the data page, then read 0x500000,
	// which faults until it is mapped.
	if err := as.MapFile(0x500000, 0x1000, 0x1000, platform.ProtRead); err != nil {
		t.Fatalf("MapFile: %v", err)
	}
	trap := platformtest.MustSwitch(t, c, as, &r)
	if trap.Kind != platform.TrapSignal || r.Rip != platformtest.RIPInt3+1 || r.Rax != 7 {
		t.Fatalf("trap %+v rip %#x rax %d, want the int3 after reading 7 from the new mapping", trap, r.Rip, r.Rax)
	}
	if err := as.Unmap(0x500000, 0x1000); err != nil {
		t.Fatalf("Unmap: %v", err)
	}
	r.Rip = platformtest.RIPStore + 8 // the load from 0x500000
	if trap := platformtest.MustSwitch(t, c, as, &r); trap.Kind != platform.TrapFault || trap.Addr != 0x500000 {
		t.Fatalf("trap %+v after Unmap, want a fault at 0x500000", trap)
	}
}
