package systrap

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"bulwark.dev/pkg/platform/internal/platformtest"
)

// TestStubSyscallFromApplication checks that application code jumping to
// a syscall instruction of the stub does not get a host syscall: the
// filter kills the stub and Switch fails.
func TestStubSyscallFromApplication(t *testing.T) {
	p, _ := newTestPlatform(t)
	as := platformtest.NewMappedAS(t, p)
	c, _ := p.NewContext()
	defer c.Release()
	r := platformtest.StartRegs(platformtest.RIPJump)
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
	as := platformtest.NewMappedAS(t, p)
	c, _ := p.NewContext()
	defer c.Release()
	r := platformtest.StartRegs(platformtest.RIPLoop)
	platformtest.MustSwitch(t, c, as, &r)
	maps, err := os.ReadFile("/proc/" + strconv.Itoa(as.(*addressSpace).s.PID) + "/maps")
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
	as := platformtest.NewMappedAS(t, p)
	for i := 0; i < stubMaxSlot+20; i++ {
		c, _ := p.NewContext()
		r := platformtest.StartRegs(platformtest.RIPLoop)
		platformtest.MustSwitch(t, c, as, &r)
		c.Release()
	}
}
