package mm

import (
	"errors"
	"testing"

	"bulwark.dev/pkg/abi/linux"
)

// hostPage returns what the fake platform maps at addr.
func hostPage(t *testing.T, m *MemoryManager, addr uintptr) fakePage {
	t.Helper()
	a := m.as.(*fakeAS)
	a.mu.Lock()
	defer a.mu.Unlock()
	p, ok := a.pages[pageDown(addr)]
	if !ok {
		t.Fatalf("%#x not mapped in the platform", addr)
	}
	return p
}

// appWrite stores s at addr the way the application would: through the
// platform mapping, taking a write fault (HandleFault) when it is
// read-only. It fails the test when the fault is not resolved.
func appWrite(t *testing.T, m *MemoryManager, addr uintptr, s string) {
	t.Helper()
	for tries := 0; ; tries++ {
		p := hostPage(t, m, addr)
		if p.prot&linux.PROT_WRITE != 0 {
			b, err := m.mf.Bytes(p.off+int64(addr%pg), int64(len(s)))
			if err != nil {
				t.Fatal(err)
			}
			copy(b, s)
			return
		}
		if tries > 0 {
			t.Fatalf("write fault at %#x resolved but the page is still read-only", addr)
		}
		handled, err := m.HandleFault(addr, true)
		if err != nil || !handled {
			t.Fatalf("HandleFault(%#x) = %v, %v", addr, handled, err)
		}
		check(t, m)
	}
}

func read(t *testing.T, m *MemoryManager, addr uintptr, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := m.CopyIn(addr, b); err != nil {
		t.Fatalf("CopyIn(%#x): %v", addr, err)
	}
	return string(b)
}

func refsAt(m *MemoryManager, addr uintptr) int32 {
	m.mu.Lock()
	defer m.mu.Unlock()
	i := m.vmas.find(addr)
	v := m.vmas[i]
	r, _, _ := m.mf.run(v.off + int64(pageDown(addr)-v.start))
	return r
}

func fork(t *testing.T, m *MemoryManager) *MemoryManager {
	t.Helper()
	c, err := m.Fork()
	if err != nil {
		t.Fatal(err)
	}
	check(t, m)
	check(t, c)
	return c
}

func TestCOWForkWrites(t *testing.T) {
	m := newMM(t)
	base := m.mf.UsedBytes()
	a := mustMap(t, m, MMapOpts{Addr: 0x30000000, Length: 8 * pg, Prot: rw, Private: true, Fixed: true})
	m.CopyOut(a, []byte("page0"))
	m.CopyOut(a+3*pg, []byte("page3"))
	used := m.mf.UsedBytes()
	maps := m.Maps()

	c := fork(t, m)
	if m.mf.UsedBytes() != used {
		t.Errorf("fork allocated %#x bytes", m.mf.UsedBytes()-used)
	}
	for _, mm := range []*MemoryManager{m, c} {
		if p := hostPage(t, mm, a); p.prot != linux.PROT_READ {
			t.Errorf("private page mapped %#x after fork, want read-only", p.prot)
		}
		if mm.Maps() != maps {
			t.Errorf("maps changed by fork:\n%s\nwant\n%s", mm.Maps(), maps)
		}
	}
	if hostPage(t, m, a).off != hostPage(t, c, a).off || refsAt(m, a) != 2 {
		t.Fatal("parent and child do not share the page")
	}

	// Each side writes; each sees its own.
	appWrite(t, c, a, "child")
	appWrite(t, m, a+3*pg, "PARENT")
	if got := read(t, m, a, 5); got != "page0" {
		t.Errorf("parent sees %q after the child's write", got)
	}
	if got := read(t, c, a, 5); got != "child" {
		t.Errorf("child sees %q", got)
	}
	if got := read(t, c, a+3*pg, 6); got != "page3\x00" {
		t.Errorf("child sees %q after the parent's write", got)
	}
	if refsAt(m, a+pg) != 2 || refsAt(m, a) != 1 || refsAt(c, a) != 1 {
		t.Errorf("refs: untouched %d, unshared %d/%d", refsAt(m, a+pg), refsAt(m, a), refsAt(c, a))
	}
	if m.Maps() != maps || c.Maps() != maps {
		t.Errorf("maps changed by unsharing:\n%s\n%s\nwant\n%s", m.Maps(), c.Maps(), maps)
	}

	// The child exits: the parent holds the rest alone, and one fault
	// makes the whole run writable without copying.
	c.DecUsers()
	before := m.mf.UsedBytes()
	appWrite(t, m, a+5*pg, "x")
	if m.mf.UsedBytes() != before {
		t.Error("write to a page no longer shared copied it")
	}
	if p := hostPage(t, m, a+7*pg); p.prot != rw {
		t.Errorf("rest of the run still mapped %#x", p.prot)
	}
	appWrite(t, m, a+pg, "y")
	for _, v := range m.vmas {
		if v.cow {
			t.Errorf("vma %#x-%#x still cow", v.start, v.end)
		}
	}
	if n := len(m.vmas); n != 3 {
		t.Errorf("%d vmas after unsharing, want 3 (pages 0-2, the copy of 3, 4-7)", n)
	}
	m.DecUsers()
	if m.mf.UsedBytes() != base {
		t.Errorf("%#x bytes used after both exited, baseline %#x", m.mf.UsedBytes(), base)
	}
}

func TestCOWCopyOutAndFutex(t *testing.T) {
	m := newMM(t)
	a := mustMap(t, m, MMapOpts{Addr: 0x30000000, Length: 4 * pg, Prot: rw, Private: true, Fixed: true})
	m.CopyOut(a, []byte("orig"))
	c := fork(t, m)

	// The kernel writes into the child (a syscall result) across two pages.
	if n, err := c.CopyOut(a+pg-2, []byte("kern")); n != 4 || err != nil {
		t.Fatalf("CopyOut: %d, %v", n, err)
	}
	check(t, c)
	if got := read(t, m, a+pg-2, 4); got != "\x00\x00\x00\x00" {
		t.Errorf("kernel write into the child seen by the parent: %q", got)
	}
	if got := read(t, c, a+pg-2, 4); got != "kern" {
		t.Errorf("child reads %q", got)
	}
	// A futex word write unshares too.
	off, _, err := m.FutexLocation(a, true)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := m.mf.Bytes(off, 4)
	copy(b, "FUTX")
	if got := read(t, c, a, 4); got != "orig" {
		t.Errorf("futex write in the parent seen by the child: %q", got)
	}
	check(t, m)
	// CopyOut stops with EFAULT at a read-only page and unshares nothing
	// past it.
	if err := c.Mprotect(a+3*pg, pg, linux.PROT_READ); err != nil {
		t.Fatal(err)
	}
	n, err := c.CopyOut(a+3*pg-1, []byte("ab"))
	if n != 1 || !errors.Is(err, linux.EFAULT) {
		t.Errorf("CopyOut into read-only: %d, %v", n, err)
	}
	m.DecUsers()
	c.DecUsers()
	if m.mf.UsedBytes() != 0 {
		t.Errorf("%#x bytes leaked", m.mf.UsedBytes())
	}
}

func TestCOWMprotect(t *testing.T) {
	m := newMM(t)
	a := mustMap(t, m, MMapOpts{Addr: 0x30000000, Length: 2 * pg, Prot: linux.PROT_READ, Private: true, Fixed: true})
	c := fork(t, m)
	// Adding write to a shared read-only page must not make it writable
	// in the platform: the first write copies.
	if err := c.Mprotect(a, 2*pg, rw); err != nil {
		t.Fatal(err)
	}
	check(t, c)
	if p := hostPage(t, c, a); p.prot != linux.PROT_READ {
		t.Fatalf("mprotect made a shared page writable in the platform: %#x", p.prot)
	}
	appWrite(t, c, a+pg, "w")
	if got := read(t, m, a+pg, 1); got != "\x00" {
		t.Errorf("parent sees %q", got)
	}
	// Taking write away and back keeps the unshared page writable and
	// the shared one read-only.
	for _, prot := range []int{linux.PROT_READ, rw} {
		if err := c.Mprotect(a, 2*pg, prot); err != nil {
			t.Fatal(err)
		}
		check(t, c)
	}
	if hostPage(t, c, a+pg).prot != rw || hostPage(t, c, a).prot != linux.PROT_READ {
		t.Error("host protections wrong after mprotect round trip")
	}
	// A write fault on a page without PROT_WRITE is the application's.
	if err := c.Mprotect(a, pg, linux.PROT_READ); err != nil {
		t.Fatal(err)
	}
	if handled, _ := c.HandleFault(a, true); handled {
		t.Error("fault on a read-only vma handled")
	}
	if handled, _ := c.HandleFault(0x50000000, true); handled {
		t.Error("fault on unmapped memory handled")
	}
	if handled, _ := c.HandleFault(a+pg, false); handled {
		t.Error("non-write fault handled")
	}
	// A spurious fault (already unshared) is retried.
	if handled, err := c.HandleFault(a+pg, true); !handled || err != nil {
		t.Errorf("spurious fault: %v, %v", handled, err)
	}
	m.DecUsers()
	c.DecUsers()
	if m.mf.UsedBytes() != 0 {
		t.Errorf("%#x bytes leaked", m.mf.UsedBytes())
	}
}

func TestCOWDontneedMunmapMremap(t *testing.T) {
	m := newMM(t)
	a := mustMap(t, m, MMapOpts{Addr: 0x30000000, Length: 4 * pg, Prot: rw, Private: true, Fixed: true})
	for i := uintptr(0); i < 4; i++ {
		m.CopyOut(a+i*pg, []byte{'A' + byte(i)})
	}
	c := fork(t, m)
	// DONTNEED in the child zeroes its view only.
	if err := c.Decommit(a, pg); err != nil {
		t.Fatal(err)
	}
	check(t, c)
	if read(t, c, a, 1) != "\x00" || read(t, m, a, 1) != "A" {
		t.Errorf("after DONTNEED: child %q, parent %q", read(t, c, a, 1), read(t, m, a, 1))
	}
	// Unmapping in the parent leaves the child's pages intact.
	if err := m.Munmap(a+pg, pg); err != nil {
		t.Fatal(err)
	}
	if read(t, c, a+pg, 1) != "B" {
		t.Error("child lost a page the parent unmapped")
	}
	// mremap moves cow pages: still shared, still read-only.
	na, err := c.Mremap(a+2*pg, 2*pg, 3*pg, linux.MREMAP_MAYMOVE|linux.MREMAP_FIXED, 0x40000000, 0)
	if err != nil {
		t.Fatal(err)
	}
	check(t, c)
	if p := hostPage(t, c, na); p.prot != linux.PROT_READ {
		t.Errorf("moved cow page mapped %#x", p.prot)
	}
	if p := hostPage(t, c, na+2*pg); p.prot != rw {
		t.Errorf("grown page mapped %#x", p.prot)
	}
	appWrite(t, c, na, "z")
	if read(t, m, a+2*pg, 1) != "C" || read(t, c, na+pg, 1) != "D" {
		t.Error("write after mremap reached the parent")
	}
	// DONTNEED in the parent of a page still shared with the child.
	if err := m.Decommit(a+3*pg, pg); err != nil {
		t.Fatal(err)
	}
	if read(t, m, a+3*pg, 1) != "\x00" || read(t, c, na+pg, 1) != "D" {
		t.Error("DONTNEED of a shared page changed the other side")
	}
	check(t, m)
	// A grandchild shares with both.
	g := fork(t, c)
	appWrite(t, g, na+pg, "g")
	if read(t, c, na+pg, 1) != "D" {
		t.Error("grandchild write seen by child")
	}
	for _, x := range []*MemoryManager{m, c, g} {
		x.DecUsers()
	}
	if m.mf.UsedBytes() != 0 {
		t.Errorf("%#x bytes leaked", m.mf.UsedBytes())
	}
}
