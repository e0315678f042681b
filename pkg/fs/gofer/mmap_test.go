package gofer_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/fs/gofer"
	"bulwark.dev/pkg/mm"
	"bulwark.dev/pkg/platform"
	"bulwark.dev/pkg/vfs"
)

// fakePlatform's address spaces map nothing: mm copies in and out through
// the memory file, which is all these tests need.
type fakePlatform struct{}

type fakeAS struct{}

func (fakePlatform) NewAddressSpace() (platform.AddressSpace, error) { return fakeAS{}, nil }
func (fakePlatform) NewContext() (platform.Context, error)           { return nil, errors.New("no contexts") }
func (fakePlatform) MinUserAddress() uintptr                         { return 0x10000 }
func (fakePlatform) MaxUserAddress() uintptr                         { return 0x7fffff000000 }
func (fakePlatform) Close()                                          {}
func (fakeAS) MapFile(uintptr, uintptr, int64, int) error            { return nil }
func (fakeAS) Unmap(uintptr, uintptr) error                          { return nil }
func (fakeAS) Protect(uintptr, uintptr, int) error                   { return nil }
func (fakeAS) Release()                                              {}

// mappable is what the mmap syscall hands mm for a file whose
// implementation is mm.FileBacked.
type mappable struct {
	*vfs.File
	mm.FileBacked
}

func newMM(t *testing.T) *mm.MemoryManager {
	t.Helper()
	mf, err := mm.DefaultMemoryFile()
	if err != nil {
		t.Fatal(err)
	}
	m, err := mm.New(fakePlatform{}, mf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.DecUsers)
	return m
}

// mapFile maps length bytes of f at offset 0 into m, shared unless private.
func mapFile(t *testing.T, m *mm.MemoryManager, f *vfs.File, length uintptr, prot int, private bool) uintptr {
	t.Helper()
	fb, ok := f.Impl().(mm.FileBacked)
	if !ok {
		t.Fatalf("a gofer regular file is not mm.FileBacked")
	}
	addr, err := m.MMap(mm.MMapOpts{Length: length, Prot: prot, Private: private,
		Mappable: mappable{f, fb}, FileWritable: f.Writable()})
	if err != nil {
		t.Fatalf("mmap: %v", err)
	}
	return addr
}

// unmap removes a mapping mapFile made, and with it its reference on the
// file.
func unmap(t *testing.T, m *mm.MemoryManager, addr, length uintptr) {
	t.Helper()
	if err := m.Munmap(addr, length); err != nil {
		t.Fatalf("munmap: %v", err)
	}
}

func open(t *testing.T, fs *vfs.FSContext, path string, flags uint32) *vfs.File {
	t.Helper()
	f, err := vfs.OpenAt(ctx, fs, nil, path, flags, 0o644)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	return f
}

func peek(t *testing.T, m *mm.MemoryManager, addr uintptr, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := m.CopyIn(addr, b); err != nil {
		t.Fatalf("copy in at %#x: %v", addr, err)
	}
	return string(b)
}

func poke(t *testing.T, m *mm.MemoryManager, addr uintptr, s string) {
	t.Helper()
	if _, err := m.CopyOut(addr, []byte(s)); err != nil {
		t.Fatalf("copy out at %#x: %v", addr, err)
	}
}

func pread(t *testing.T, f *vfs.File, off int64, n int) string {
	t.Helper()
	b := make([]byte, n)
	got, err := f.PRead(ctx, b, off)
	if err != nil {
		t.Fatalf("pread at %d: %v", off, err)
	}
	return string(b[:got])
}

func hostFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const pg = linux.PageSize

func TestSharedMappingCoherence(t *testing.T) { forModes(t, testSharedMappingCoherence) }

func testSharedMappingCoherence(t *testing.T, opts gofer.Options) {
	dir := t.TempDir()
	host := filepath.Join(dir, "f")
	os.WriteFile(host, append([]byte("hello"), make([]byte, pg)...), 0o644) // 1 page + 5 bytes
	fs := newFS(t, dir, false, opts)
	f := open(t, fs, "/f", linux.O_RDWR)
	m := newMM(t)
	addr := mapFile(t, m, f, 2*pg, linux.PROT_READ|linux.PROT_WRITE, false)

	if got := peek(t, m, addr, 5); got != "hello" {
		t.Fatalf("mapping reads %q, want the file's bytes", got)
	}
	// Mapping → file.
	poke(t, m, addr+pg, "store")
	if got := pread(t, f, pg, 5); got != "store" {
		t.Fatalf("pread after a store through the mapping: %q", got)
	}
	// File → mapping.
	if n, err := f.PWrite(ctx, []byte("write"), 100); n != 5 || err != nil {
		t.Fatalf("pwrite: %d, %v", n, err)
	}
	if got := peek(t, m, addr+100, 5); got != "write" {
		t.Fatalf("mapping after pwrite: %q", got)
	}
	// Another address space (another process) maps the same pages.
	m2 := newMM(t)
	f2 := open(t, fs, "/f", linux.O_RDONLY)
	addr2 := mapFile(t, m2, f2, pg, linux.PROT_READ, false)
	if got := peek(t, m2, addr2+100, 5); got != "write" {
		t.Fatalf("second mapping: %q", got)
	}
	poke(t, m, addr+200, "both")
	if got := peek(t, m2, addr2+200, 4); got != "both" {
		t.Fatalf("second mapping after a store through the first: %q", got)
	}
	// A private mapping is a copy: its stores reach no one.
	addr3 := mapFile(t, m2, f2, pg, linux.PROT_READ|linux.PROT_WRITE, true)
	poke(t, m2, addr3+300, "private")
	if got := pread(t, f, 300, 7); got == "private" {
		t.Fatalf("a store to a private mapping reached the file")
	}
	f2.DecRef()

	// Stores do not change the size; writes past the end do.
	if st, _ := f.Stat(ctx); st.Size != pg+5 {
		t.Fatalf("size %d, want %d", st.Size, pg+5)
	}
	if _, err := f.PWrite(ctx, []byte("tail"), 3*pg); err != nil {
		t.Fatal(err)
	}
	if st, _ := f.Stat(ctx); st.Size != 3*pg+4 {
		t.Fatalf("size after an extending write %d, want %d", st.Size, 3*pg+4)
	}
	if got := pread(t, f, 2*pg, 4); got != "\x00\x00\x00\x00" {
		t.Fatalf("the gap after an extending write reads %q", got)
	}

	// fsync writes everything back.
	if err := f.Sync(ctx); err != nil {
		t.Fatalf("fsync: %v", err)
	}
	b := hostFile(t, host)
	if len(b) != 3*pg+4 || string(b[:5]) != "hello" || string(b[100:105]) != "write" ||
		string(b[200:204]) != "both" || string(b[pg:pg+5]) != "store" || string(b[3*pg:]) != "tail" {
		t.Fatalf("host file after fsync: len %d, %q", len(b), b[:210])
	}

	// A store after fsync reaches the host at the last close, which
	// comes once no mapping holds the file either (mappings keep their
	// file open, as on Linux).
	poke(t, m, addr+400, "closed")
	unmap(t, m, addr, 2*pg)
	unmap(t, m2, addr2, pg)
	unmap(t, m2, addr3, pg)
	f.DecRef()
	if b := hostFile(t, host); string(b[400:406]) != "closed" {
		t.Fatalf("host file after close: %q", b[400:406])
	}
}

func TestSharedMappingTruncate(t *testing.T) { forModes(t, testSharedMappingTruncate) }

func testSharedMappingTruncate(t *testing.T, opts gofer.Options) {
	dir := t.TempDir()
	host := filepath.Join(dir, "f")
	os.WriteFile(host, bytes.Repeat([]byte("x"), 2*pg), 0o644)
	fs := newFS(t, dir, false, opts)
	f := open(t, fs, "/f", linux.O_RDWR)
	defer f.DecRef()
	m := newMM(t)
	addr := mapFile(t, m, f, 2*pg, linux.PROT_READ|linux.PROT_WRITE, false)

	if err := f.Truncate(ctx, 10); err != nil {
		t.Fatalf("truncate: %v", err)
	}
	if fi, _ := os.Stat(host); fi.Size() != 10 {
		t.Fatalf("host size %d after truncate, want 10", fi.Size())
	}
	if got := peek(t, m, addr+8, 4); got != "xx\x00\x00" {
		t.Fatalf("mapping across the new end of file reads %q", got)
	}
	if got := pread(t, f, 0, 100); got != "xxxxxxxxxx" {
		t.Fatalf("read after truncate: %q", got)
	}
	// Stores past the end of file are not part of the file, and growing
	// the file again exposes zeros.
	poke(t, m, addr+20, "beyond")
	if err := f.Truncate(ctx, 30); err != nil {
		t.Fatal(err)
	}
	if got := pread(t, f, 10, 20); got != string(make([]byte, 20)) {
		t.Fatalf("grown file reads %q", got)
	}
	poke(t, m, addr, "yy")
	if err := f.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if b := hostFile(t, host); string(b) != "yyxxxxxxxx"+string(make([]byte, 20)) {
		t.Fatalf("host file %q", b)
	}
	// O_TRUNC on open goes through the cache too.
	f2 := open(t, fs, "/f", linux.O_WRONLY|linux.O_TRUNC)
	f2.DecRef()
	if st, _ := f.Stat(ctx); st.Size != 0 {
		t.Fatalf("size after O_TRUNC %d", st.Size)
	}
	if got := peek(t, m, addr, 2); got != "\x00\x00" {
		t.Fatalf("mapping after O_TRUNC reads %q", got)
	}
	// The mapping still sees the file when it grows again.
	if _, err := f.PWrite(ctx, []byte("again"), 0); err != nil {
		t.Fatal(err)
	}
	if got := peek(t, m, addr, 5); got != "again" {
		t.Fatalf("mapping after truncate and write reads %q", got)
	}
}

// TestSharedMappingAppend checks that write(2) with O_APPEND and a
// write-only descriptor use the cache's size and write back.
func TestSharedMappingAppend(t *testing.T) { forModes(t, testSharedMappingAppend) }

func testSharedMappingAppend(t *testing.T, opts gofer.Options) {
	dir := t.TempDir()
	host := filepath.Join(dir, "f")
	os.WriteFile(host, []byte("ab"), 0o644)
	fs := newFS(t, dir, false, opts)
	r := open(t, fs, "/f", linux.O_RDONLY)
	m := newMM(t)
	addr := mapFile(t, m, r, pg, linux.PROT_READ, false)
	w := open(t, fs, "/f", linux.O_WRONLY|linux.O_APPEND)
	for _, s := range []string{"cd", "ef"} {
		if _, err := w.Write(ctx, []byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	if got := peek(t, m, addr, 7); got != "abcdef\x00" {
		t.Fatalf("read-only mapping after appends: %q", got)
	}
	unmap(t, m, addr, pg)
	w.DecRef()
	r.DecRef()
	if b := hostFile(t, host); string(b) != "abcdef" {
		t.Fatalf("host file after the last close: %q", b)
	}
}

// TestReadOnlyMountMapping maps a file of a read-only mount shared.
func TestReadOnlyMountMapping(t *testing.T) { forModes(t, testReadOnlyMountMapping) }

func testReadOnlyMountMapping(t *testing.T, opts gofer.Options) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "f"), []byte("data"), 0o644)
	fs := newFS(t, dir, true, opts)
	f := open(t, fs, "/f", linux.O_RDONLY)
	defer f.DecRef()
	m := newMM(t)
	addr := mapFile(t, m, f, pg, linux.PROT_READ, false)
	if got := peek(t, m, addr, 5); got != "data\x00" {
		t.Fatalf("mapping reads %q", got)
	}
	if got := pread(t, f, 0, 10); got != "data" {
		t.Fatalf("read through the cache: %q", got)
	}
}

// TestCacheCreatedDuringWrites maps a file while other descriptors write
// to it: no write may be lost, whether it went to the host before the
// cache existed or through the cache after.
func TestCacheCreatedDuringWrites(t *testing.T) { forModes(t, testCacheCreatedDuringWrites) }

func testCacheCreatedDuringWrites(t *testing.T, opts gofer.Options) {
	dir := t.TempDir()
	host := filepath.Join(dir, "f")
	os.WriteFile(host, make([]byte, 4*pg), 0o644)
	fs := newFS(t, dir, false, opts)
	const writers, rounds = 4, 50
	done := make(chan error, writers)
	for w := 0; w < writers; w++ {
		go func(w int) {
			f, err := vfs.OpenAt(ctx, fs, nil, "/f", linux.O_WRONLY, 0)
			if err != nil {
				done <- err
				return
			}
			// Closed before reporting: the test then knows which close
			// is the last, the one that writes the cache back.
			var werr error
			for k := 0; k < rounds && werr == nil; k++ {
				_, werr = f.PWrite(ctx, []byte{byte('a' + w)}, int64(w*pg+k))
			}
			f.DecRef()
			done <- werr
		}(w)
	}
	f := open(t, fs, "/f", linux.O_RDONLY)
	m := newMM(t)
	addr := mapFile(t, m, f, 4*pg, linux.PROT_READ, false)
	for w := 0; w < writers; w++ {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	for w := 0; w < writers; w++ {
		want := string(bytes.Repeat([]byte{byte('a' + w)}, rounds))
		if got := peek(t, m, addr+uintptr(w*pg), rounds); got != want {
			t.Fatalf("writer %d: mapping has %q", w, got)
		}
	}
	unmap(t, m, addr, 4*pg)
	f.DecRef()
	b := hostFile(t, host)
	for w := 0; w < writers; w++ {
		if got := string(b[w*pg : w*pg+rounds]); got != string(bytes.Repeat([]byte{byte('a' + w)}, rounds)) {
			t.Fatalf("writer %d: host has %q", w, got)
		}
	}
}
