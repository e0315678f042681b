package systrap

import (
	"encoding/binary"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"bulwark.dev/pkg/platform"
)

// TestFSBase checks that the kernel's fs_base reaches the thread: the
// program reads fs:[0].
func TestFSBase(t *testing.T) {
	p, fd := newTestPlatform(t)
	as := newMappedAS(t, p)
	c, _ := p.NewContext()
	defer c.Release()
	for i, v := range []uint64{0x1122334455667788, 0x99} {
		off := 8 + 8*i // in the data page
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], v)
		if _, err := unix.Pwrite(fd, b[:], int64(0x1000+off)); err != nil {
			t.Fatal(err)
		}
		r := startRegs(ripFS)
		r.Fs_base = uint64(dataAddr + off)
		trap := mustSwitch(t, c, as, &r)
		if trap.Kind != platform.TrapSignal || r.Rax != v || r.Fs_base != uint64(dataAddr+off) {
			t.Fatalf("round %d: trap %+v rax %#x fs %#x, want int3 with %#x", i, trap, r.Rax, r.Fs_base, v)
		}
	}
}

// TestStubSyscallFromApplication checks that application code jumping to
// a syscall instruction of the stub does not get a host syscall: the
// filter kills the stub and Switch fails.
func TestStubSyscallFromApplication(t *testing.T) {
	p, _ := newTestPlatform(t)
	as := newMappedAS(t, p)
	c, _ := p.NewContext()
	defer c.Release()
	r := startRegs(ripJump)
	r.Rax = uint64(p.img.syscallAddr) // also the syscall number: not allowed
	start := time.Now()
	if trap, err := c.Switch(as, &r); err == nil {
		t.Fatalf("Switch returned %+v, want an error", trap)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("detecting the dead stub took %v", d)
	}
}

// TestSlotMappedInStub checks that a context thread's slot, and only it,
// appears in the stub next to the code page.
func TestSlotMappedInStub(t *testing.T) {
	p, _ := newTestPlatform(t)
	as := newMappedAS(t, p)
	c, _ := p.NewContext()
	defer c.Release()
	r := startRegs(ripLoop)
	mustSwitch(t, c, as, &r)
	maps, err := os.ReadFile("/proc/" + itoa(as.(*addressSpace).s.pid) + "/maps")
	if err != nil {
		t.Fatal(err)
	}
	var slots int
	for _, line := range strings.Split(string(maps), "\n") {
		if strings.Contains(line, "bulwark-systrap (deleted)") {
			slots++
			if !strings.HasPrefix(line, "7fffff010000-7fffff018000 rw-s") {
				t.Errorf("unexpected slot mapping %q", line)
			}
		}
	}
	if slots != 1 {
		t.Errorf("%d slot mappings, want 1:\n%s", slots, maps)
	}
}

// TestThreadSlotReuse switches many short-lived contexts through one
// address space: their slots are reused, not exhausted.
func TestThreadSlotReuse(t *testing.T) {
	p, _ := newTestPlatform(t)
	as := newMappedAS(t, p)
	for i := 0; i < stubMaxSlot+20; i++ {
		c, _ := p.NewContext()
		r := startRegs(ripLoop)
		mustSwitch(t, c, as, &r)
		c.Release()
	}
}

// BenchmarkSyscallRoundTrip measures one trapped application syscall: the
// stub loops on getppid and every Switch returns its syscall trap.
func BenchmarkSyscallRoundTrip(b *testing.B) {
	p, _ := newTestPlatform(b)
	as := newMappedAS(b, p)
	c, err := p.NewContext()
	if err != nil {
		b.Fatal(err)
	}
	defer c.Release()
	r := startRegs(ripLoop)
	if _, err := c.Switch(as, &r); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r.Rax = 1
		trap, err := c.Switch(as, &r)
		if err != nil || trap.Kind != platform.TrapSyscall {
			b.Fatalf("Switch: %v %v", trap, err)
		}
	}
}
