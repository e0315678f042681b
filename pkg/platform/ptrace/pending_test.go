package ptrace

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"bulwark.dev/pkg/platform"
	"bulwark.dev/pkg/platform/internal/platformtest"
)

// stubMaps returns the lines of the stub's /proc/<pid>/maps.
func stubMaps(t *testing.T, as *addressSpace) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/maps", as.s.PID))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestDeferredChangesReplayInOrder records more changes than one batch
// holds before the first Switch and checks that the host ends up with
// exactly their result, applied in order.
func TestDeferredChangesReplayInOrder(t *testing.T) {
	p, _ := newTestPlatform(t)
	as := platformtest.NewMappedAS(t, p).(*addressSpace)
	const n = 3*maxBatch + 5
	base := uintptr(0x10000000)
	addr := func(i int) uintptr { return base + uintptr(i)*0x2000 } // a gap between pages
	for i := 0; i < n; i++ {
		if err := as.MapFile(addr(i), 0x1000, 0x1000, platform.ProtRead|platform.ProtWrite); err != nil {
			t.Fatal(err)
		}
	}
	// Later changes override earlier ones only if replayed in order.
	if err := as.Unmap(addr(0), 0x1000); err != nil {
		t.Fatal(err)
	}
	if err := as.Protect(addr(1), 0x1000, platform.ProtRead); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(stubMaps(t, as), fmt.Sprintf("%x-", addr(2))) {
		t.Fatal("the stub was changed before a context switched in")
	}

	c, _ := p.NewContext()
	defer c.Release()
	r := platformtest.StartRegs(platformtest.RIPLoop)
	platformtest.MustSwitch(t, c, as, &r)

	maps := stubMaps(t, as)
	if strings.Contains(maps, fmt.Sprintf("%x-", addr(0))) {
		t.Errorf("page %#x mapped after its Unmap was replayed", addr(0))
	}
	if !strings.Contains(maps, fmt.Sprintf("%x-%x r--s", addr(1), addr(1)+0x1000)) {
		t.Errorf("page %#x not read-only after its Protect was replayed:\n%s", addr(1), maps)
	}
	for i := 2; i < n; i++ {
		if !strings.Contains(maps, fmt.Sprintf("%x-%x rw-s", addr(i), addr(i)+0x1000)) {
			t.Fatalf("page %d (%#x) missing after the replay:\n%s", i, addr(i), maps)
		}
	}
	// Live now: changes are made at once.
	if err := as.Unmap(addr(2), 0x1000); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(stubMaps(t, as), fmt.Sprintf("%x-", addr(2))) {
		t.Error("Unmap of a live address space not made at once")
	}
}

// TestDeferredChangeErrors checks what fails before the address space is
// live: arguments the host would refuse, and any change once released.
func TestDeferredChangeErrors(t *testing.T) {
	p, _ := newTestPlatform(t)
	as, err := p.NewAddressSpace()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"unaligned length", as.MapFile(0x400000, 0x10, 0, platform.ProtRead)},
		{"unaligned offset", as.MapFile(0x400000, 0x1000, 0x10, platform.ProtRead)},
		{"past the user range", as.MapFile(stubAddr, 0x1000, 0, platform.ProtRead)},
		{"empty unmap", as.Unmap(0x400000, 0)},
	} {
		if tc.err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
	as.Release()
	if err := as.MapFile(0x400000, 0x1000, 0, platform.ProtRead); err == nil {
		t.Error("MapFile after Release succeeded")
	}
}
