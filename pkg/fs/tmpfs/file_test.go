package tmpfs_test

import (
	"bytes"
	"testing"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/fs/tmpfs"
	"bulwark.dev/pkg/mm"
	"bulwark.dev/pkg/vfs"
)

func newFS(t *testing.T) (*tmpfs.FS, *mm.MemoryFile) {
	t.Helper()
	mf, err := mm.NewMemoryFile("tmpfs-test", 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(mf.Close)
	return tmpfs.New(tmpfs.Options{MemoryFile: mf}), mf
}

func create(t *testing.T, fs *tmpfs.FS, name string) (*tmpfs.File, vfs.FileImpl) {
	t.Helper()
	in, impl, err := fs.RootDir().Create(ctx, name, linux.O_RDWR, vfs.CreateOpts{Mode: linux.S_IFREG | 0o644})
	if err != nil {
		t.Fatal(err)
	}
	return in.(*tmpfs.File), impl
}

func TestFileDataInMemoryFilePages(t *testing.T) {
	fs, mf := newFS(t)
	f, impl := create(t, fs, "f")
	// A write far out allocates only the pages it touches.
	if _, err := impl.Write(ctx, nil, []byte("tail"), 10<<20); err != nil {
		t.Fatal(err)
	}
	if got := mf.UsedBytes(); got != linux.PageSize {
		t.Fatalf("sparse file uses %d bytes of the memory file", got)
	}
	buf := make([]byte, 8)
	n, _ := impl.Read(ctx, nil, buf, 10<<20-4)
	if n != 8 || !bytes.Equal(buf, []byte("\x00\x00\x00\x00tail")) {
		t.Fatalf("read %d %q", n, buf)
	}
	// A write crossing pages, then truncation within the page keeps it
	// and zeroes the cut bytes; growing again reads zeros.
	impl.Write(ctx, nil, bytes.Repeat([]byte("x"), 5000), 0)
	if err := f.SetAttr(ctx, vfs.SetAttrRequest{Mask: vfs.SetSize, Size: 4100}); err != nil {
		t.Fatal(err)
	}
	if got := mf.UsedBytes(); got != 2*linux.PageSize {
		t.Fatalf("after truncate: %d bytes used", got)
	}
	f.SetAttr(ctx, vfs.SetAttrRequest{Mask: vfs.SetSize, Size: 6000})
	data := f.Data()
	if len(data) != 6000 || data[4099] != 'x' || !bytes.Equal(data[4100:], make([]byte, 1900)) {
		t.Fatalf("after shrink and grow: len %d, byte 4099 %q, tail not zero", len(data), data[4099])
	}
	// Unlink then close frees the data; unlink alone does not.
	if err := fs.RootDir().Unlink(ctx, "f"); err != nil {
		t.Fatal(err)
	}
	if mf.UsedBytes() == 0 {
		t.Fatal("data freed while the file is open")
	}
	impl.Release()
	if got := mf.UsedBytes(); got != 0 {
		t.Fatalf("unlinked and closed file still uses %d bytes", got)
	}
}

func TestMapRangesShareFilePages(t *testing.T) {
	fs, mf := newFS(t)
	f, impl := create(t, fs, "shm")
	impl.Write(ctx, nil, []byte("hello"), 0)
	fb := impl.(mm.FileBacked)
	if fb.MemoryFile() != mf {
		t.Fatal("wrong memory file")
	}
	// Map two pages (one beyond EOF): the mapping gets its own references.
	rs, err := f.MapRanges(0, 2*linux.PageSize)
	if err != nil {
		t.Fatal(err)
	}
	b, err := mf.Bytes(rs[0].Off, 5)
	if err != nil || string(b) != "hello" {
		t.Fatalf("mapped page has %q (%v)", b, err)
	}
	copy(b, "HELLO") // a store through the mapping
	buf := make([]byte, 5)
	impl.Read(ctx, nil, buf, 0)
	if string(buf) != "HELLO" {
		t.Fatalf("read(2) after a store sees %q", buf)
	}
	if a, _ := f.Stat(ctx); a.Size != 5 {
		t.Fatalf("mapping changed the size to %d", a.Size)
	}
	// Deleting the file leaves the mapping's pages alive until DecRef.
	fs.RootDir().Unlink(ctx, "shm")
	impl.Release()
	if mf.UsedBytes() != 2*linux.PageSize {
		t.Fatalf("mapping's pages freed early: %d used", mf.UsedBytes())
	}
	for _, r := range rs {
		mf.DecRef(r.Off, r.Length)
	}
	if mf.UsedBytes() != 0 {
		t.Fatalf("%d bytes leaked", mf.UsedBytes())
	}
}

func TestAppendAndUnlinkedFile(t *testing.T) {
	fs, mf := newFS(t)
	f, impl := fs.NewUnlinkedFile(vfs.CreateOpts{Mode: linux.S_IFREG | 0o777})
	file := vfs.NewFile(f, impl, linux.O_RDWR|linux.O_APPEND, "/memfd:x (deleted)")
	file.Write(ctx, []byte("ab"))
	file.Write(ctx, []byte("cd"))
	if got := string(f.Data()); got != "abcd" {
		t.Fatalf("appended %q", got)
	}
	file.DecRef()
	if mf.UsedBytes() != 0 {
		t.Fatal("unlinked file's data not freed on close")
	}
}
