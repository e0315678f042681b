package vdso

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"bulwark.dev/pkg/mm"
	"bulwark.dev/pkg/platform"
)

// fakeAS and fakePlatform let mm run without stub processes.
type fakeAS struct{}

func (fakeAS) MapFile(addr, length uintptr, off int64, prot int) error { return nil }
func (fakeAS) Unmap(addr, length uintptr) error                        { return nil }
func (fakeAS) Protect(addr, length uintptr, prot int) error            { return nil }
func (fakeAS) Release()                                                {}

type fakePlatform struct{ platform.Platform }

func (fakePlatform) NewAddressSpace() (platform.AddressSpace, error) { return fakeAS{}, nil }
func (fakePlatform) MinUserAddress() uintptr                         { return 0x10000 }
func (fakePlatform) MaxUserAddress() uintptr                         { return 0x7ffffffff000 }

// TestMap maps the vDSO: [vvar] read-only and shared with forks (they see
// the kernel's updates), [vdso] holding the image.
func TestMap(t *testing.T) {
	mf, err := mm.NewMemoryFile("vdso-test", 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(mf.Close)
	v, err := New(mf, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Stop)
	m, err := mm.New(fakePlatform{}, mf)
	if err != nil {
		t.Fatal(err)
	}
	defer m.DecUsers()
	base := uintptr(0x7ffffff00000)
	ehdr, err := v.Map(m, base)
	if err != nil || ehdr != base+4096 {
		t.Fatalf("Map = %#x, %v, want %#x", ehdr, err, base+4096)
	}
	maps := m.Maps()
	if !strings.Contains(maps, "7ffffff00000-7ffffff01000 r--s 00000000 00:00 0") || !strings.Contains(maps, " [vvar]\n") ||
		!strings.Contains(maps, "7ffffff01000-7ffffff02000 r-xp 00000000 00:00 0") || !strings.Contains(maps, " [vdso]\n") {
		t.Errorf("maps:\n%s", maps)
	}
	img := make([]byte, len(image))
	if _, err := m.CopyIn(ehdr, img); err != nil || !bytes.Equal(img, image) {
		t.Errorf("image not at %#x: %v", ehdr, err)
	}
	if _, err := m.MMap(mm.MMapOpts{Addr: base, Length: 4096, Prot: 1, Fixed: true, NoReplace: true}); err == nil {
		t.Error("mapping over [vvar] succeeded")
	}

	child, err := m.Fork()
	if err != nil {
		t.Fatal(err)
	}
	defer child.DecUsers()
	// The sandbox writes the page; both address spaces see it. (The
	// refresher may update it between reads: retry.)
	if !invariantTSC() {
		v.r.c.publish(params{tscBase: 42, mult: 7}, 99, 0) // no refresher runs
	}
	for try := 0; ; try++ {
		parent, kid := make([]byte, 4096), make([]byte, 4096)
		if _, err := m.CopyIn(base, parent); err != nil {
			t.Fatal(err)
		}
		if _, err := child.CopyIn(base, kid); err != nil {
			t.Fatal(err)
		}
		own := bytes.Clone(v.r.c.page)
		if parent[offEnabled] == 1 && bytes.Equal(parent, own) && bytes.Equal(kid, own) {
			break
		}
		if try == 10 {
			t.Fatal("the vvar page is not the kernel's page in parent and child")
		}
	}
}
