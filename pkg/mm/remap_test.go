package mm

import (
	"bytes"
	"strings"
	"testing"

	"bulwark.dev/pkg/abi/linux"
)

// fakeBacked is a FileBacked file whose pages are allocated one at a time,
// so consecutive pages are usually not contiguous in the memory file.
type fakeBacked struct {
	mf    *MemoryFile
	pages map[int64]int64
}

func (f *fakeBacked) ReadAt(p []byte, off int64) (int, error) { return 0, nil }
func (f *fakeBacked) Name() string                            { return "/dev/shm/fake" }
func (f *fakeBacked) MemoryFile() *MemoryFile                 { return f.mf }

func (f *fakeBacked) MapRanges(off, length int64) ([]MemoryRange, error) {
	var out []MemoryRange
	for p := off; p < off+length; p += pg {
		o, ok := f.pages[p]
		if !ok {
			// Leave a one-page hole so file pages are scattered.
			hole, _ := f.mf.Allocate(pg)
			var err error
			if o, err = f.mf.Allocate(pg); err != nil {
				return nil, err
			}
			f.mf.Free(hole, pg)
			f.pages[p] = o
		}
		f.mf.IncRef(o, pg)
		out = append(out, MemoryRange{o, pg})
	}
	return out, nil
}

// page returns the memory file bytes of file page p.
func (f *fakeBacked) page(t *testing.T, p int64) []byte {
	b, err := f.mf.Bytes(f.pages[p], pg)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSharedFileMappingUsesFilePages(t *testing.T) {
	m := newMM(t)
	fb := &fakeBacked{mf: m.mf, pages: map[int64]int64{}}
	a := mustMap(t, m, MMapOpts{Length: 3 * pg, Prot: linux.PROT_READ, Mappable: fb, FileWritable: true})
	if _, err := m.CopyIn(a+2*pg, make([]byte, 8)); err != nil {
		t.Fatal(err)
	}
	copy(fb.page(t, 2*pg), "written by write(2)")
	got := make([]byte, 19)
	m.CopyIn(a+2*pg, got)
	if string(got) != "written by write(2)" {
		t.Fatalf("mapping sees %q", got)
	}
	// The file is open for writing, so the mapping may become writable.
	if err := m.Mprotect(a, 3*pg, rw); err != nil {
		t.Fatal(err)
	}
	check(t, m)
	m.CopyOut(a+pg+10, []byte("store"))
	if !bytes.Equal(fb.page(t, pg)[10:15], []byte("store")) {
		t.Fatal("store through the mapping not in the file page")
	}
	if !strings.Contains(m.Maps(), "rw-s 00000000 00:00 0") {
		t.Fatalf("maps shows pieces instead of one line:\n%s", m.Maps())
	}
	// Forks share the pages.
	c, err := m.Fork()
	if err != nil {
		t.Fatal(err)
	}
	c.CopyOut(a, []byte("child"))
	if !bytes.Equal(fb.page(t, 0)[:5], []byte("child")) {
		t.Fatal("child's store not in the file")
	}
	c.DecUsers()
	// Unmapping drops the mapping's references; the file keeps its own.
	used := m.mf.UsedBytes()
	if err := m.Munmap(a, 3*pg); err != nil {
		t.Fatal(err)
	}
	if got := m.mf.UsedBytes(); got != used {
		t.Fatalf("used %d after munmap, want %d (the file's pages)", got, used)
	}
	// A read-only file cannot get a writable shared mapping by mprotect.
	b := mustMap(t, m, MMapOpts{Length: pg, Prot: linux.PROT_READ, Mappable: fb})
	wantErrno(t, m.Mprotect(b, pg, rw), linux.EACCES)
}

func TestMremap(t *testing.T) {
	m := newMM(t)
	a := mustMap(t, m, MMapOpts{Length: 2 * pg, Prot: rw, Private: true})
	m.CopyOut(a, []byte("keep me"))
	// Grow in place: the pages above are free.
	if got, err := m.Mremap(a, 2*pg, 4*pg, 0, 0, 0); err != nil || got != a {
		t.Fatalf("grow in place: %#x, %v", got, err)
	}
	check(t, m)
	// Block the pages above, then growing needs MREMAP_MAYMOVE.
	mustMap(t, m, MMapOpts{Addr: a + 4*pg, Length: pg, Prot: rw, Private: true, Fixed: true})
	_, err := m.Mremap(a, 4*pg, 8*pg, 0, 0, 0)
	wantErrno(t, err, linux.ENOMEM)
	b, err := m.Mremap(a, 4*pg, 8*pg, linux.MREMAP_MAYMOVE, 0, 0)
	if err != nil || b == a {
		t.Fatalf("move: %#x, %v", b, err)
	}
	check(t, m)
	got := make([]byte, 7)
	if _, err := m.CopyIn(b, got); err != nil || string(got) != "keep me" {
		t.Fatalf("moved data %q, %v", got, err)
	}
	if _, err := m.CopyIn(a, got); err == nil {
		t.Fatal("old range still mapped")
	}
	// The new tail is zeroed memory.
	m.CopyIn(b+7*pg, got)
	if !bytes.Equal(got, make([]byte, 7)) {
		t.Fatalf("grown tail %q", got)
	}
	// Shrink.
	if got, err := m.Mremap(b, 8*pg, pg, 0, 0, 0); err != nil || got != b {
		t.Fatalf("shrink: %#x, %v", got, err)
	}
	check(t, m)
	if m.Mapped(b+pg, pg) {
		t.Fatal("shrunk tail still mapped")
	}
	// MREMAP_FIXED moves to the given address, replacing what is there.
	dst := uintptr(0x40000000)
	mustMap(t, m, MMapOpts{Addr: dst, Length: 2 * pg, Prot: linux.PROT_READ, Private: true, Fixed: true})
	if got, err := m.Mremap(b, pg, 2*pg, linux.MREMAP_MAYMOVE|linux.MREMAP_FIXED, dst, 0); err != nil || got != dst {
		t.Fatalf("fixed: %#x, %v", got, err)
	}
	check(t, m)
	m.CopyIn(dst, got)
	if string(got) != "keep me" {
		t.Fatalf("fixed move data %q", got)
	}
	// Errors.
	_, err = m.Mremap(0x50000000, pg, 2*pg, linux.MREMAP_MAYMOVE, 0, 0)
	wantErrno(t, err, linux.EFAULT)
	_, err = m.Mremap(dst, pg, 2*pg, linux.MREMAP_FIXED, 0x60000000, 0)
	wantErrno(t, err, linux.EINVAL)
	_, err = m.Mremap(dst, 2*pg, 3*pg, linux.MREMAP_MAYMOVE|linux.MREMAP_FIXED, dst+pg, 0)
	wantErrno(t, err, linux.EINVAL)
	// RLIMIT_AS.
	size := m.VirtualSize()
	_, err = m.Mremap(dst, 2*pg, 4*pg, linux.MREMAP_MAYMOVE, 0, size+pg)
	wantErrno(t, err, linux.ENOMEM)
}

func TestDecommitZeroesPrivateAnonymous(t *testing.T) {
	m := newMM(t)
	priv := mustMap(t, m, MMapOpts{Length: 3 * pg, Prot: rw, Private: true})
	shared := mustMap(t, m, MMapOpts{Length: pg, Prot: rw})
	m.CopyOut(priv, bytes.Repeat([]byte{7}, 3*pg))
	m.CopyOut(shared, []byte{9})
	if err := m.Decommit(priv+pg, pg); err != nil {
		t.Fatal(err)
	}
	if err := m.Decommit(shared, pg); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 3*pg)
	m.CopyIn(priv, buf)
	if buf[0] != 7 || buf[pg] != 0 || buf[2*pg-1] != 0 || buf[2*pg] != 7 {
		t.Fatalf("after MADV_DONTNEED: %d %d %d %d", buf[0], buf[pg], buf[2*pg-1], buf[2*pg])
	}
	m.CopyIn(shared, buf[:1])
	if buf[0] != 9 {
		t.Fatal("shared memory lost its contents")
	}
	wantErrno(t, m.Decommit(priv, 8*pg), linux.ENOMEM)
	check(t, m)
}

func TestAddressSpaceLimit(t *testing.T) {
	m := newMM(t)
	mustMap(t, m, MMapOpts{Length: 4 * pg, Prot: rw, Private: true})
	limit := m.VirtualSize() + 2*pg
	_, err := m.MMap(MMapOpts{Length: 3 * pg, Prot: rw, Private: true, LimitAS: limit})
	wantErrno(t, err, linux.ENOMEM)
	mustMap(t, m, MMapOpts{Length: 2 * pg, Prot: rw, Private: true, LimitAS: limit})
	m.SetBrkStart(0x1000000)
	if got := m.BrkLimit(0x1000000+pg, limit); got != 0x1000000 {
		t.Fatalf("brk past RLIMIT_AS moved to %#x", got)
	}
	if got := m.BrkLimit(0x1000000+pg, 0); got != 0x1000000+pg {
		t.Fatalf("brk without limit: %#x", got)
	}
	check(t, m)
}

func TestPrivateFileMappingSharesFilePagesCOW(t *testing.T) {
	m := newMM(t)
	fb := &fakeBacked{mf: m.mf, pages: map[int64]int64{}}
	a := mustMap(t, m, MMapOpts{Length: 2 * pg, Prot: rw, Private: true, Mappable: fb})
	used := m.mf.UsedBytes()
	check(t, m)
	if p := hostPage(t, m, a); p.off != fb.pages[0] || p.prot&linux.PROT_WRITE != 0 {
		t.Fatalf("page 0 mapped %+v; want the file's page %#x read-only", p, fb.pages[0])
	}
	// Until a page is written, the mapping shows the file's bytes.
	copy(fb.page(t, 0), "from write(2)")
	if got := read(t, m, a, 13); got != "from write(2)" {
		t.Fatalf("mapping reads %q before its first store", got)
	}
	// A store copies the page; the file keeps its bytes.
	appWrite(t, m, a+3, "PRIVATE")
	if got := read(t, m, a, 13); got != "froPRIVATE(2)" {
		t.Fatalf("mapping reads %q after a store", got)
	}
	if got := string(fb.page(t, 0)[:13]); got != "from write(2)" {
		t.Fatalf("store through a private mapping reached the file: %q", got)
	}
	if got := m.mf.UsedBytes() - used; got != pg {
		t.Fatalf("a store used %d new bytes; want one page", got)
	}
	// The kernel's writes (CopyOut) unshare too.
	if _, err := m.CopyOut(a+pg, []byte("kernel")); err != nil {
		t.Fatal(err)
	}
	if fb.page(t, pg)[0] != 0 {
		t.Fatal("CopyOut into a private mapping reached the file")
	}
	check(t, m)
	if !strings.Contains(m.Maps(), "rw-p 00000000 00:00 0") {
		t.Fatalf("maps:\n%s", m.Maps())
	}
	// Unmapping drops the mapping's references; the file keeps its pages.
	if err := m.Munmap(a, 2*pg); err != nil {
		t.Fatal(err)
	}
	if r, _, _ := m.mf.run(fb.pages[0]); r != 1 {
		t.Fatalf("file page 0 has %d references after munmap; want the file's one", r)
	}
}
