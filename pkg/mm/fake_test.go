package mm

import (
	"fmt"
	"sync"

	"bulwark.dev/pkg/platform"
)

// fakePlatform records what a real platform would map, page by page, so
// tests can check that the host view agrees with the vmas.
type fakePlatform struct{}

type fakePage struct {
	off  int64
	prot int
}

type fakeAS struct {
	mu       sync.Mutex
	pages    map[uintptr]fakePage
	released bool
}

func (fakePlatform) NewAddressSpace() (platform.AddressSpace, error) {
	return &fakeAS{pages: map[uintptr]fakePage{}}, nil
}
func (fakePlatform) NewContext() (platform.Context, error) { return nil, fmt.Errorf("no contexts") }
func (fakePlatform) MinUserAddress() uintptr               { return 0x10000 }
func (fakePlatform) MaxUserAddress() uintptr               { return 0x7fffff000000 }
func (fakePlatform) Close()                                {}

func (a *fakeAS) MapFile(addr, length uintptr, off int64, prot int) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	for p := uintptr(0); p < length; p += 0x1000 {
		a.pages[addr+p] = fakePage{off + int64(p), prot}
	}
	return nil
}

func (a *fakeAS) Unmap(addr, length uintptr) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	for p := uintptr(0); p < length; p += 0x1000 {
		delete(a.pages, addr+p)
	}
	return nil
}

func (a *fakeAS) Protect(addr, length uintptr, prot int) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	for p := uintptr(0); p < length; p += 0x1000 {
		pg, ok := a.pages[addr+p]
		if !ok {
			return fmt.Errorf("protect of unmapped page %#x", addr+p)
		}
		pg.prot = prot
		a.pages[addr+p] = pg
	}
	return nil
}

func (a *fakeAS) Release() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.released = true
}

// agrees checks that the fake host mappings match m's vmas exactly.
func agrees(m *MemoryManager) error {
	a := m.as.(*fakeAS)
	a.mu.Lock()
	defer a.mu.Unlock()
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, v := range m.vmas {
		for p := v.start; p < v.end; p += 0x1000 {
			want := fakePage{v.off + int64(p-v.start), v.hostProt()}
			if got, ok := a.pages[p]; !ok || got != want {
				return fmt.Errorf("page %#x: host has %+v (mapped %v), vma wants %+v", p, got, ok, want)
			}
			n++
		}
	}
	if n != len(a.pages) {
		return fmt.Errorf("host maps %d pages, vmas cover %d", len(a.pages), n)
	}
	return nil
}
