package mm

import (
	"bytes"
	"testing"

	"bulwark.dev/pkg/abi/linux"
)

func decommit(t *testing.T, m *MemoryManager, addr, length uintptr) {
	t.Helper()
	if err := m.Decommit(addr, length); err != nil {
		t.Fatalf("Decommit(%#x, %#x): %v", addr, length, err)
	}
	check(t, m)
}

func TestDontneedPrivateBackedRereadsFile(t *testing.T) {
	m := newMM(t)
	fb := &fakeBacked{mf: m.mf, pages: map[int64]int64{}}
	a := mustMap(t, m, MMapOpts{Length: 3 * pg, Prot: rw, Private: true, Mappable: fb})
	for i, s := range []string{"file0", "file1", "file2"} {
		copy(fb.page(t, int64(i)*pg), s)
		appWrite(t, m, a+uintptr(i)*pg, "priv"+s[4:])
	}
	used := m.mf.UsedBytes()
	decommit(t, m, a+pg, pg)
	if got := read(t, m, a, 5) + read(t, m, a+pg, 5) + read(t, m, a+2*pg, 5); got != "priv0file1priv2" {
		t.Fatalf("after DONTNEED of page 1 the mapping reads %q", got)
	}
	if got := used - m.mf.UsedBytes(); got != pg {
		t.Errorf("DONTNEED freed %d bytes; want the private copy's page", got)
	}
	if p := hostPage(t, m, a+pg); p.off != fb.pages[pg] || p.prot != linux.PROT_READ {
		t.Errorf("page 1 mapped %+v; want the file's page %#x read-only", p, fb.pages[pg])
	}
	// It is the file's page again: changes to the file show.
	copy(fb.page(t, pg), "FILE1")
	if got := read(t, m, a+pg, 5); got != "FILE1" {
		t.Errorf("after write(2) the page reads %q", got)
	}
	appWrite(t, m, a+pg, "again")
	if got := string(fb.page(t, pg)[:5]); got != "FILE1" {
		t.Fatalf("store after DONTNEED reached the file: %q", got)
	}
	// A fork keeps its own view while the parent drops its changes.
	c := fork(t, m)
	appWrite(t, c, a+2*pg, "child")
	decommit(t, m, a, 3*pg)
	if got := read(t, m, a, 5) + read(t, m, a+pg, 5) + read(t, m, a+2*pg, 5); got != "file0FILE1file2" {
		t.Errorf("parent reads %q after DONTNEED of everything", got)
	}
	if got := read(t, c, a, 5) + read(t, c, a+pg, 5) + read(t, c, a+2*pg, 5); got != "priv0againchild" {
		t.Errorf("child reads %q", got)
	}
	c.DecUsers()
	if err := m.Munmap(a, 3*pg); err != nil {
		t.Fatal(err)
	}
	for p, off := range fb.pages {
		if r, _, _ := m.mf.run(off); r != 1 {
			t.Errorf("file page %#x has %d references after munmap; want the file's one", p, r)
		}
	}
}

func TestDontneedPrivateCopyRereadsFile(t *testing.T) {
	m := newMM(t)
	f := &file{data: bytes.Repeat([]byte("a"), 2*pg+pg/2), name: "/bin/tool"}
	// Pages 1 and 2 of the file (the last one half past EOF), and one
	// page past the file.
	a := mustMap(t, m, MMapOpts{Length: 3 * pg, Prot: rw, Private: true, Mappable: f, Offset: pg})
	m.CopyOut(a, bytes.Repeat([]byte("w"), 3*pg))
	copy(f.data[2*pg:], "new file bytes")
	used := m.mf.UsedBytes()
	decommit(t, m, a+pg, 2*pg)
	if got := read(t, m, a, 2); got != "ww" {
		t.Errorf("page before the range reads %q", got)
	}
	if got := read(t, m, a+pg, 14); got != "new file bytes" {
		t.Errorf("page 2 of the file reads %q", got)
	}
	tail := []byte(read(t, m, a+pg+pg/2-1, pg/2+1+pg))
	if tail[0] != 'a' || !bytes.Equal(tail[1:], make([]byte, pg/2+pg)) {
		t.Errorf("bytes past EOF are not zero after DONTNEED")
	}
	if m.mf.UsedBytes() != used {
		t.Errorf("DONTNEED changed memory use from %d to %d bytes", used, m.mf.UsedBytes())
	}
	if !m.Mapped(a, 3*pg) {
		t.Error("range not mapped after DONTNEED")
	}
	// Read-only private mappings are restored too (from the file's
	// current bytes: it changed since mmap).
	r := mustMap(t, m, MMapOpts{Length: pg, Prot: linux.PROT_READ, Private: true, Mappable: f})
	copy(f.data, "CHANGED")
	decommit(t, m, r, pg)
	if got := read(t, m, r, 7); got != "CHANGED" {
		t.Errorf("read-only mapping reads %q after DONTNEED", got)
	}
}

// refFile is a RefCounted Mappable that checks no address space lock is
// held when its last reference goes.
type refFile struct {
	file
	t    *testing.T
	refs int
	fail bool // ReadAt fails with EIO
	mms  []*MemoryManager
}

func (f *refFile) ReadAt(p []byte, off int64) (int, error) {
	if f.fail {
		return 0, linux.EIO
	}
	return f.file.ReadAt(p, off)
}

func (f *refFile) IncRef() { f.refs++ }

func (f *refFile) DecRef() {
	f.refs--
	for _, m := range f.mms {
		if !m.mu.TryLock() {
			f.t.Error("DecRef called with an address space locked")
			continue
		}
		m.mu.Unlock()
	}
}

func TestFileMappingsHoldTheirFile(t *testing.T) {
	m := newMM(t)
	f := &refFile{file: file{data: bytes.Repeat([]byte("x"), 8*pg), name: "/lib/x.so"}, t: t, mms: []*MemoryManager{m}}
	wantRefs := func(want int) {
		t.Helper()
		if f.refs != want {
			t.Fatalf("file has %d references; want %d", f.refs, want)
		}
	}
	f.fail = true
	_, err := m.MMap(MMapOpts{Length: pg, Prot: rw, Private: true, Mappable: f})
	wantErrno(t, err, linux.EIO)
	wantRefs(0)
	f.fail = false
	a := mustMap(t, m, MMapOpts{Length: 4 * pg, Prot: rw, Private: true, Mappable: f})
	s := mustMap(t, m, MMapOpts{Length: pg, Prot: linux.PROT_READ, Mappable: f})
	wantRefs(2)
	// Splitting, forking and moving keep the one reference of each mmap.
	if err := m.Munmap(a+pg, pg); err != nil {
		t.Fatal(err)
	}
	if err := m.Mprotect(a+2*pg, pg, linux.PROT_READ); err != nil {
		t.Fatal(err)
	}
	c := fork(t, m)
	f.mms = append(f.mms, c)
	if err := m.Munmap(s, pg); err != nil {
		t.Fatal(err)
	}
	if err := m.Munmap(a, 4*pg); err != nil {
		t.Fatal(err)
	}
	wantRefs(2) // the child maps both
	na, err := c.Mremap(a+2*pg, 2*pg, 3*pg, linux.MREMAP_MAYMOVE, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	check(t, c)
	decommit(t, c, na, 3*pg)
	if got := read(t, c, na+2*pg, 1); got != "x" {
		t.Errorf("grown page of a private file mapping reads %q; want the file's byte", got)
	}
	c.Munmap(s, pg)
	wantRefs(1)
	c.DecUsers()
	wantRefs(0)
}

func TestMremapGrowsPrivateFileMapping(t *testing.T) {
	m := newMM(t)
	fb := &fakeBacked{mf: m.mf, pages: map[int64]int64{}}
	a := mustMap(t, m, MMapOpts{Length: pg, Prot: rw, Private: true, Mappable: fb})
	appWrite(t, m, a, "mine")
	b, err := m.Mremap(a, pg, 3*pg, linux.MREMAP_MAYMOVE, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	check(t, m)
	copy(fb.page(t, 2*pg), "file page 2")
	if got := read(t, m, b, 4) + read(t, m, b+2*pg, 11); got != "minefile page 2" {
		t.Errorf("grown mapping reads %q", got)
	}
	if p := hostPage(t, m, b+pg); p.off != fb.pages[pg] || p.prot != linux.PROT_READ {
		t.Errorf("grown page mapped %+v; want the file's page copy-on-write", p)
	}
}
