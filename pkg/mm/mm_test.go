package mm

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"bulwark.dev/pkg/abi/linux"
)

const (
	pg     = 0x1000
	top    = 0x7fffff000000
	rw     = linux.PROT_READ | linux.PROT_WRITE
	mmBase = top - mmapGap
)

func newMF(t *testing.T) *MemoryFile {
	t.Helper()
	mf, err := NewMemoryFile("mm-test", 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(mf.Close)
	return mf
}

func newMM(t *testing.T) *MemoryManager {
	t.Helper()
	m, err := New(fakePlatform{}, newMF(t))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func check(t *testing.T, m *MemoryManager) {
	t.Helper()
	if err := agrees(m); err != nil {
		t.Fatal(err)
	}
}

func mustMap(t *testing.T, m *MemoryManager, o MMapOpts) uintptr {
	t.Helper()
	a, err := m.MMap(o)
	if err != nil {
		t.Fatalf("MMap(%+v): %v", o, err)
	}
	check(t, m)
	return a
}

func wantErrno(t *testing.T, err error, want linux.Errno) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("got error %v, want %v", err, want.Name())
	}
}

func TestMemoryFileRefcounts(t *testing.T) {
	mf := newMF(t)
	a, err := mf.Allocate(3 * pg)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := mf.Allocate(1) // rounds up to a page
	if b != a+3*pg || mf.UsedBytes() != 4*pg {
		t.Fatalf("second allocation at %#x, used %#x", b, mf.UsedBytes())
	}
	mem, _ := mf.Bytes(a, 3*pg)
	mem[0], mem[2*pg] = 1, 2
	// Share the middle and last page, then drop the owner's reference.
	if err := mf.IncRef(a+pg, 2*pg); err != nil {
		t.Fatal(err)
	}
	if err := mf.DecRef(a, 3*pg); err != nil {
		t.Fatal(err)
	}
	if mf.UsedBytes() != 3*pg || mem[2*pg] != 2 {
		t.Fatalf("used %#x after partial free, last page %d", mf.UsedBytes(), mem[2*pg])
	}
	if mem[0] != 0 {
		t.Error("freed page still holds data (hole not punched)")
	}
	// The freed first page is reused first.
	if c, _ := mf.Allocate(pg); c != a {
		t.Errorf("reallocation at %#x, want %#x", c, a)
	}
	if err := mf.DecRef(a+pg, 2*pg); err != nil {
		t.Fatal(err)
	}
	if err := mf.DecRef(a+pg, pg); err == nil {
		t.Error("DecRef of an unallocated range succeeded")
	}
	if _, err := mf.Bytes(1<<30, 1); err == nil {
		t.Error("Bytes past the end succeeded")
	}
	if _, err := mf.Allocate(2 << 30); !errors.Is(err, linux.ENOMEM) {
		t.Errorf("oversized Allocate: %v", err)
	}
}

func TestMMapPlacementAndErrors(t *testing.T) {
	m := newMM(t)
	a := mustMap(t, m, MMapOpts{Length: 2 * pg, Prot: rw, Private: true})
	if a != mmBase-2*pg {
		t.Errorf("first mapping at %#x, want %#x", a, mmBase-2*pg)
	}
	b := mustMap(t, m, MMapOpts{Length: 100, Prot: rw, Private: true})
	if b != a-pg {
		t.Errorf("second mapping at %#x, want %#x", b, a-pg)
	}
	h := mustMap(t, m, MMapOpts{Addr: 0x12345678, Length: pg, Prot: rw, Private: true})
	if h != 0x12345000 {
		t.Errorf("hint not honoured: %#x", h)
	}
	h2 := mustMap(t, m, MMapOpts{Addr: 0x12345000, Length: pg, Prot: rw, Private: true})
	if h2 == h {
		t.Error("hint over an existing mapping was used")
	}
	_, err := m.MMap(MMapOpts{Addr: h, Length: pg, Prot: rw, Private: true, NoReplace: true})
	wantErrno(t, err, linux.EEXIST)
	_, err = m.MMap(MMapOpts{Length: 0, Prot: rw, Private: true})
	wantErrno(t, err, linux.EINVAL)
	_, err = m.MMap(MMapOpts{Addr: 0x400001, Length: pg, Prot: rw, Private: true, Fixed: true})
	wantErrno(t, err, linux.EINVAL)
	_, err = m.MMap(MMapOpts{Length: pg, Prot: rw, Private: true, Offset: 10})
	wantErrno(t, err, linux.EINVAL)
	_, err = m.MMap(MMapOpts{Length: top, Prot: rw, Private: true})
	wantErrno(t, err, linux.ENOMEM)
	_, err = m.MMap(MMapOpts{Addr: top - pg, Length: 2 * pg, Prot: rw, Private: true, Fixed: true})
	wantErrno(t, err, linux.ENOMEM)

	// Fixed replaces: new memory is zero and the old pages are freed.
	m.CopyOut(h, []byte("old"))
	used := m.mf.UsedBytes()
	if got := mustMap(t, m, MMapOpts{Addr: h, Length: pg, Prot: rw, Private: true, Fixed: true}); got != h {
		t.Fatalf("fixed mapping at %#x", got)
	}
	buf := make([]byte, 3)
	m.CopyIn(h, buf)
	if !bytes.Equal(buf, []byte{0, 0, 0}) || m.mf.UsedBytes() != used {
		t.Errorf("after MAP_FIXED: content %q, used %#x (was %#x)", buf, m.mf.UsedBytes(), used)
	}
}

func TestMunmapMprotectSplit(t *testing.T) {
	m := newMM(t)
	a := mustMap(t, m, MMapOpts{Addr: 0x10000000, Length: 4 * pg, Prot: rw, Private: true, Fixed: true})
	m.CopyOut(a+3*pg, []byte("keep"))
	if err := m.Munmap(a+pg, pg); err != nil {
		t.Fatal(err)
	}
	check(t, m)
	if err := m.Mprotect(a+2*pg, pg, linux.PROT_READ); err != nil {
		t.Fatal(err)
	}
	check(t, m)
	want := "10000000-10001000 rw-p 00000000 00:00 0 \n" +
		"10002000-10003000 r--p 00000000 00:00 0 \n" +
		"10003000-10004000 rw-p 00000000 00:00 0 \n"
	if got := m.Maps(); got != want {
		t.Errorf("Maps:\n%s\nwant:\n%s", got, want)
	}
	buf := make([]byte, 4)
	if _, err := m.CopyIn(a+3*pg, buf); err != nil || string(buf) != "keep" {
		t.Errorf("content after split: %q %v", buf, err)
	}
	// Reads across the hole stop at it.
	n, err := m.CopyIn(a+pg-2, make([]byte, 8))
	if n != 2 || !errors.Is(err, linux.EFAULT) {
		t.Errorf("CopyIn across hole: %d, %v", n, err)
	}
	// Writes stop at the read-only page; reads go through.
	n, err = m.CopyOut(a+2*pg-0, []byte("x"))
	if n != 0 || !errors.Is(err, linux.EFAULT) {
		t.Errorf("CopyOut to read-only: %d, %v", n, err)
	}
	n, err = m.CopyIn(a+3*pg-2, make([]byte, 4))
	if n != 4 || err != nil {
		t.Errorf("CopyIn across adjacent vmas: %d, %v", n, err)
	}
	// mprotect over a hole fails without changing anything.
	wantErrno(t, m.Mprotect(a, 3*pg, linux.PROT_READ), linux.ENOMEM)
	wantErrno(t, m.Mprotect(a+1, pg, linux.PROT_READ), linux.EINVAL)
	wantErrno(t, m.Munmap(a+1, pg), linux.EINVAL)
	wantErrno(t, m.Munmap(a, 0), linux.EINVAL)
	// Merged display: making the middle rw again shows one line.
	if err := m.Mprotect(a+2*pg, pg, rw); err != nil {
		t.Fatal(err)
	}
	if got := m.Maps(); !strings.HasPrefix(got, "10000000-10001000 rw-p") || !strings.Contains(got, "\n10002000-10004000 rw-p") {
		t.Errorf("Maps after re-protect:\n%s", got)
	}
	if err := m.Munmap(a, 4*pg); err != nil {
		t.Fatal(err)
	}
	check(t, m)
	if m.mf.UsedBytes() != 0 || m.Maps() != "" {
		t.Errorf("after full unmap: used %#x, maps %q", m.mf.UsedBytes(), m.Maps())
	}
}

func TestCopyInString(t *testing.T) {
	m := newMM(t)
	a := mustMap(t, m, MMapOpts{Addr: 0x20000000, Length: pg, Prot: rw, Private: true, Fixed: true})
	m.CopyOut(a+pg-6, []byte("hello\x00"))
	if s, err := m.CopyInString(a+pg-6, 100); err != nil || s != "hello" {
		t.Errorf("CopyInString at page end: %q %v", s, err)
	}
	_, err := m.CopyInString(a+pg-6, 5) // "hello" plus NUL needs 6
	wantErrno(t, err, linux.ENAMETOOLONG)
	if s, err := m.CopyInString(a+pg-6, 6); err != nil || s != "hello" {
		t.Errorf("CopyInString with exact max: %q %v", s, err)
	}
	m.CopyOut(a+pg-3, []byte("abc"))
	_, err = m.CopyInString(a+pg-3, 100)
	wantErrno(t, err, linux.EFAULT)
	_, err = m.CopyInString(0x1000, 10)
	wantErrno(t, err, linux.EFAULT)
}

func TestBrk(t *testing.T) {
	m := newMM(t)
	m.SetBrkStart(0x600000)
	if b := m.Brk(0); b != 0x600000 {
		t.Fatalf("Brk(0) = %#x", b)
	}
	if b := m.Brk(0x600010); b != 0x600010 {
		t.Fatalf("Brk grow = %#x", b)
	}
	check(t, m)
	if _, err := m.CopyOut(0x600ff0, make([]byte, 16)); err != nil {
		t.Errorf("heap page not writable: %v", err)
	}
	if b := m.Brk(0x603000); b != 0x603000 {
		t.Fatalf("Brk grow = %#x", b)
	}
	want := "00600000-00603000 rw-p 00000000 00:00 0" + strings.Repeat(" ", 34) + "[heap]\n"
	if got := m.Maps(); got != want {
		t.Errorf("Maps:\n%q\nwant\n%q", got, want)
	}
	if b := m.Brk(0x601000); b != 0x601000 {
		t.Fatalf("Brk shrink = %#x", b)
	}
	check(t, m)
	if _, err := m.CopyIn(0x601000, make([]byte, 1)); !errors.Is(err, linux.EFAULT) {
		t.Errorf("shrunk heap still readable: %v", err)
	}
	if b := m.Brk(0x500000); b != 0x601000 {
		t.Errorf("Brk below start = %#x", b)
	}
	mustMap(t, m, MMapOpts{Addr: 0x605000, Length: pg, Prot: rw, Private: true, Fixed: true})
	if b := m.Brk(0x606000); b != 0x601000 {
		t.Errorf("Brk into a mapping = %#x, want the old break", b)
	}
	check(t, m)
}

func TestForkIndependence(t *testing.T) {
	m := newMM(t)
	priv := mustMap(t, m, MMapOpts{Addr: 0x30000000, Length: 64 << 20, Prot: rw, Private: true, Fixed: true})
	shared := mustMap(t, m, MMapOpts{Length: pg, Prot: rw})
	m.CopyOut(priv+5*pg, []byte("parent"))
	m.SetBrkStart(0x700000)
	m.Brk(0x702000)
	m.SetExecutable("/bin/x")

	var before unix.Stat_t
	unix.Fstat(m.mf.FD(), &before)
	c, err := m.Fork()
	if err != nil {
		t.Fatal(err)
	}
	check(t, c)
	var after unix.Stat_t
	unix.Fstat(m.mf.FD(), &after)
	if grew := (after.Blocks - before.Blocks) * 512; grew > 64<<10 {
		t.Errorf("fork of a sparse 64 MiB mapping used %d bytes", grew)
	}
	if c.Maps() != m.Maps() || c.Brk(0) != 0x702000 || c.Executable() != "/bin/x" {
		t.Errorf("child differs:\n%s\nparent:\n%s", c.Maps(), m.Maps())
	}
	buf := make([]byte, 6)
	c.CopyIn(priv+5*pg, buf)
	if string(buf) != "parent" {
		t.Errorf("child sees %q", buf)
	}
	c.CopyOut(priv+5*pg, []byte("child!"))
	m.CopyIn(priv+5*pg, buf)
	if string(buf) != "parent" {
		t.Errorf("child's private write seen by parent: %q", buf)
	}
	m.CopyOut(priv, []byte("p2"))
	c.CopyIn(priv, buf[:2])
	if string(buf[:2]) != "\x00\x00" {
		t.Errorf("parent's write after fork seen by child: %q", buf[:2])
	}
	c.CopyOut(shared, []byte("shared"))
	m.CopyIn(shared, buf)
	if string(buf) != "shared" {
		t.Errorf("shared write not seen by parent: %q", buf)
	}
	// The shared page outlives the parent.
	used := m.mf.UsedBytes()
	m.DecUsers()
	if !m.as.(*fakeAS).released {
		t.Error("last DecUsers did not release the address space")
	}
	c.CopyIn(shared, buf)
	if string(buf) != "shared" || m.mf.UsedBytes() >= used {
		t.Errorf("after parent exit: %q, used %#x (was %#x)", buf, m.mf.UsedBytes(), used)
	}
	c.IncUsers()
	c.DecUsers()
	if c.as.(*fakeAS).released {
		t.Error("DecUsers with a user left released the address space")
	}
	c.DecUsers()
	if c.mf.UsedBytes() != 0 {
		t.Errorf("%#x bytes still used after both exited", c.mf.UsedBytes())
	}
}

// file is a Mappable over a byte slice.
type file struct {
	data []byte
	name string
}

func (f *file) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(f.data)) {
		return 0, io.EOF
	}
	n := copy(p, f.data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}
func (f *file) Name() string                          { return f.name }
func (f *file) DeviceInode() (uint32, uint32, uint64) { return 0xfe, 0, 247026 }

func TestFileMappingsAndMapsFormat(t *testing.T) {
	m := newMM(t)
	data := bytes.Repeat([]byte("0123456789abcdef"), 0x1800/16) // 1.5 pages
	f := &file{data: data, name: "/usr/bin/cat"}
	a := mustMap(t, m, MMapOpts{Addr: 0x557ce9ca6000, Length: 0x3000, Prot: linux.PROT_READ, Private: true,
		Fixed: true, Mappable: f, Offset: 0x1000})
	buf := make([]byte, 0x1000)
	m.CopyIn(a, buf)
	if !bytes.Equal(buf[:0x800], data[0x1000:]) || !bytes.Equal(buf[0x800:], make([]byte, 0x800)) {
		t.Error("file mapping is not the file's bytes followed by zeros past EOF")
	}
	want := "557ce9ca6000-557ce9ca9000 r--p 00001000 fe:00 247026                     /usr/bin/cat\n"
	if got := m.Maps(); got != want {
		t.Errorf("Maps:\n%q\nwant\n%q", got, want)
	}
	if _, err := m.CopyOut(a, []byte("x")); !errors.Is(err, linux.EFAULT) {
		t.Errorf("write to read-only file mapping: %v", err)
	}
	_, err := m.MMap(MMapOpts{Length: pg, Prot: rw, Mappable: f})
	wantErrno(t, err, linux.ENODEV)
	s := mustMap(t, m, MMapOpts{Length: pg, Prot: linux.PROT_READ, Mappable: f})
	wantErrno(t, m.Mprotect(s, pg, rw), linux.EACCES)

	stack := mustMap(t, m, MMapOpts{Addr: 0x7ffffe000000, Length: 0x21000, Prot: rw, Private: true, Fixed: true,
		GrowsDown: true, Name: "[stack]"})
	m.CopyOut(stack+0x20000, []byte("prog\x00-x\x00A=1\x00"))
	m.SetArgvEnv(stack+0x20000, stack+0x20008, stack+0x20008, stack+0x2000c)
	if got := string(m.Cmdline()); got != "prog\x00-x\x00" {
		t.Errorf("Cmdline %q", got)
	}
	if got := string(m.Environ()); got != "A=1\x00" {
		t.Errorf("Environ %q", got)
	}
	if !strings.Contains(m.Maps(), "7ffffe000000-7ffffe021000 rw-p 00000000 00:00 0                          [stack]\n") {
		t.Errorf("no stack line in:\n%s", m.Maps())
	}
}
