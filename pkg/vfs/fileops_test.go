package vfs_test

import (
	"strings"
	"testing"
	"time"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/fs/inotify"
	"bulwark.dev/pkg/fs/overlay"
	"bulwark.dev/pkg/fs/tmpfs"
	"bulwark.dev/pkg/vfs"
	"bulwark.dev/pkg/vfs/vfstest"
)

func openRW(t *testing.T, ctx vfs.Context, fs *vfs.FSContext, path string) *vfs.File {
	t.Helper()
	f, err := vfs.OpenAt(ctx, fs, nil, path, linux.O_RDWR|linux.O_CREAT, 0o644)
	must(t, err)
	return f
}

func TestFlockPerDescription(t *testing.T) {
	_, fs, _ := setup(t)
	ctx := vfstest.NewContext()
	a, b := openRW(t, ctx, fs, "/f"), openRW(t, ctx, fs, "/f")
	defer b.DecRef()
	must(t, a.Flock(ctx, linux.LOCK_SH))
	must(t, b.Flock(ctx, linux.LOCK_SH|linux.LOCK_NB))
	wantErr(t, b.Flock(ctx, linux.LOCK_EX|linux.LOCK_NB), linux.EWOULDBLOCK)
	// A blocked LOCK_EX is granted when the other description closes.
	done := make(chan error, 1)
	go func() { done <- b.Flock(ctx, linux.LOCK_EX) }()
	select {
	case err := <-done:
		t.Fatalf("LOCK_EX granted while shared lock held: %v", err)
	case <-time.After(20 * time.Millisecond):
	}
	a.DecRef()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	c := openRW(t, ctx, fs, "/f")
	defer c.DecRef()
	wantErr(t, c.Flock(ctx, linux.LOCK_SH|linux.LOCK_NB), linux.EWOULDBLOCK)
	must(t, b.Flock(ctx, linux.LOCK_UN))
	must(t, c.Flock(ctx, linux.LOCK_SH|linux.LOCK_NB))
	wantErr(t, c.Flock(ctx, 0), linux.EINVAL)
}

func TestRecordLocks(t *testing.T) {
	_, fs, _ := setup(t)
	ctx := vfstest.NewContext()
	p1, p2 := vfs.NewFDTable(), vfs.NewFDTable()
	f1, f2 := openRW(t, ctx, fs, "/f"), openRW(t, ctx, fs, "/f")
	fd1, err := p1.NewFD(0, f1, vfs.FDFlags{})
	must(t, err)
	_, err = p2.NewFD(0, f2, vfs.FDFlags{})
	must(t, err)
	f1.DecRef()
	f2.DecRef()

	must(t, f1.SetRecordLock(ctx, p1, 10, vfs.RecordLock{Type: linux.F_WRLCK, Start: 0, Len: 10}, false))
	must(t, f1.SetRecordLock(ctx, p1, 10, vfs.RecordLock{Type: linux.F_RDLCK, Start: 20, Len: 0}, false))
	// Same owner: replacing part of its own lock never conflicts.
	must(t, f1.SetRecordLock(ctx, p1, 10, vfs.RecordLock{Type: linux.F_RDLCK, Start: 5, Len: 3}, false))
	got, err := f2.TestRecordLock(ctx, p2, vfs.RecordLock{Type: linux.F_WRLCK, Start: 6, Len: 1})
	must(t, err)
	if got.Type != linux.F_RDLCK || got.Start != 5 || got.Len != 3 || got.PID != 10 {
		t.Fatalf("F_GETLK got %+v", got)
	}
	must(t, f2.SetRecordLock(ctx, p2, 20, vfs.RecordLock{Type: linux.F_RDLCK, Start: 6, Len: 1}, false))
	wantErr(t, f2.SetRecordLock(ctx, p2, 20, vfs.RecordLock{Type: linux.F_WRLCK, Start: 1000, Len: 1}, false), linux.EAGAIN)
	got, _ = f2.TestRecordLock(ctx, p2, vfs.RecordLock{Type: linux.F_WRLCK, Start: 10, Len: 10})
	if got.Type != linux.F_UNLCK {
		t.Fatalf("gap between locks reported %+v", got)
	}

	// Deadlock: p2 waits for p1's [0,5); p1 then asks for p2's byte 6.
	waiting := make(chan error, 1)
	go func() {
		waiting <- f2.SetRecordLock(ctx, p2, 20, vfs.RecordLock{Type: linux.F_WRLCK, Start: 0, Len: 1}, true)
	}()
	time.Sleep(20 * time.Millisecond)
	wantErr(t, f1.SetRecordLock(ctx, p1, 10, vfs.RecordLock{Type: linux.F_WRLCK, Start: 6, Len: 1}, true), linux.EDEADLK)
	// Closing any fd of the file drops p1's locks and wakes p2.
	g, err := vfs.OpenAt(ctx, fs, nil, "/f", linux.O_RDONLY, 0)
	must(t, err)
	gfd, err := p1.NewFD(0, g, vfs.FDFlags{})
	must(t, err)
	g.DecRef()
	if gfd == fd1 {
		t.Fatal("same fd")
	}
	f, err := p1.Remove(gfd)
	must(t, err)
	f.DecRef()
	if err := <-waiting; err != nil {
		t.Fatal(err)
	}
	p1.Release()
	p2.Release()
}

func TestOFDLocksAndInterrupt(t *testing.T) {
	_, fs, _ := setup(t)
	ctx := vfstest.NewContext()
	a, b := openRW(t, ctx, fs, "/f"), openRW(t, ctx, fs, "/f")
	defer a.DecRef()
	defer b.DecRef()
	must(t, a.SetRecordLock(ctx, nil, 0, vfs.RecordLock{Type: linux.F_WRLCK}, false))
	got, _ := b.TestRecordLock(ctx, nil, vfs.RecordLock{Type: linux.F_RDLCK, Start: 100})
	if got.Type != linux.F_WRLCK || got.PID != -1 {
		t.Fatalf("OFD F_GETLK got %+v", got)
	}
	go func() { time.Sleep(20 * time.Millisecond); ctx.Interrupt() }()
	wantErr(t, b.SetRecordLock(ctx, nil, 0, vfs.RecordLock{Type: linux.F_RDLCK}, true), linux.ERESTARTSYS)
	ro, err := vfs.OpenAt(ctx, fs, nil, "/f", linux.O_RDONLY, 0)
	must(t, err)
	defer ro.DecRef()
	wantErr(t, ro.SetRecordLock(ctx, nil, 0, vfs.RecordLock{Type: linux.F_WRLCK}, false), linux.EBADF)
}

func TestAllocate(t *testing.T) {
	_, fs, _ := setup(t)
	ctx := vfstest.NewContext()
	f := openRW(t, ctx, fs, "/f")
	defer f.DecRef()
	must(t, f.Allocate(ctx, 0, 0, 8192))
	if sx, _ := f.Stat(ctx); sx.Size != 8192 {
		t.Fatalf("size %d", sx.Size)
	}
	must(t, f.Allocate(ctx, linux.FALLOC_FL_KEEP_SIZE, 0, 1<<20))
	if sx, _ := f.Stat(ctx); sx.Size != 8192 {
		t.Fatalf("KEEP_SIZE changed size to %d", sx.Size)
	}
	_, err := f.PWrite(ctx, []byte("abcdefgh"), 0)
	must(t, err)
	must(t, f.Allocate(ctx, linux.FALLOC_FL_PUNCH_HOLE|linux.FALLOC_FL_KEEP_SIZE, 2, 4))
	buf := make([]byte, 8)
	_, err = f.PRead(ctx, buf, 0)
	must(t, err)
	if string(buf) != "ab\x00\x00\x00\x00gh" {
		t.Fatalf("after punch %q", buf)
	}
	wantErr(t, f.Allocate(ctx, linux.FALLOC_FL_PUNCH_HOLE, 0, 1), linux.EOPNOTSUPP)
	wantErr(t, f.Allocate(ctx, linux.FALLOC_FL_COLLAPSE_RANGE, 0, 4096), linux.EOPNOTSUPP)
	wantErr(t, f.Allocate(ctx, 0, 0, 0), linux.EINVAL)
}

func TestTmpfileAndLink(t *testing.T) {
	_, fs, _ := setup(t)
	ctx := vfstest.NewContext()
	must(t, vfs.MkdirAt(ctx, fs, nil, "/d", 0o755))
	f, err := vfs.OpenAt(ctx, fs, nil, "/d", linux.O_TMPFILE|linux.O_RDWR, 0o600)
	must(t, err)
	defer f.DecRef()
	if _, err := f.Write(ctx, []byte("hi")); err != nil {
		t.Fatal(err)
	}
	d, err := vfs.OpenAt(ctx, fs, nil, "/d", linux.O_RDONLY|linux.O_DIRECTORY, 0)
	must(t, err)
	var names []string
	must(t, d.Readdir(ctx, func(e vfs.Dirent, _ int64) bool { names = append(names, e.Name); return true }))
	d.DecRef()
	if len(names) != 2 {
		t.Fatalf("O_TMPFILE left a name: %v", names)
	}
	if sx, _ := f.Stat(ctx); sx.Nlink != 0 {
		t.Fatalf("nlink %d", sx.Nlink)
	}
	must(t, vfs.LinkAt(ctx, fs, f, "", nil, "/d/named", linux.AT_EMPTY_PATH))
	if got := readFile(t, ctx, fs, "/d/named"); got != "hi" {
		t.Fatalf("linked tmpfile has %q", got)
	}
	_, err = vfs.OpenAt(ctx, fs, nil, "/d", linux.O_TMPFILE|linux.O_RDONLY, 0o600)
	wantErr(t, err, linux.EINVAL)
}

func TestOpenAt2(t *testing.T) {
	_, fs, _ := setup(t)
	ctx := vfstest.NewContext()
	must(t, vfs.MkdirAt(ctx, fs, nil, "/d", 0o755))
	writeFile(t, ctx, fs, "/d/f", "x")
	writeFile(t, ctx, fs, "/top", "y")
	must(t, vfs.SymlinkAt(ctx, fs, "/top", nil, "/d/abs"))
	dir, err := vfs.OpenAt(ctx, fs, nil, "/d", linux.O_RDONLY|linux.O_DIRECTORY, 0)
	must(t, err)
	defer dir.DecRef()
	open := func(path string, how vfs.OpenHow) error {
		f, err := vfs.OpenAt2(ctx, fs, dir, path, how)
		if err == nil {
			f.DecRef()
		}
		return err
	}
	must(t, open("f", vfs.OpenHow{Resolve: linux.RESOLVE_BENEATH}))
	wantErr(t, open("../top", vfs.OpenHow{Resolve: linux.RESOLVE_BENEATH}), linux.EXDEV)
	wantErr(t, open("/top", vfs.OpenHow{Resolve: linux.RESOLVE_BENEATH}), linux.EXDEV)
	wantErr(t, open("abs", vfs.OpenHow{Resolve: linux.RESOLVE_NO_SYMLINKS}), linux.ELOOP)
	must(t, open("abs", vfs.OpenHow{Flags: linux.O_PATH | linux.O_NOFOLLOW, Resolve: linux.RESOLVE_NO_SYMLINKS}))
	// In root, "/top" is /d/top, which does not exist.
	wantErr(t, open("abs", vfs.OpenHow{Resolve: linux.RESOLVE_IN_ROOT}), linux.ENOENT)
	must(t, open("/f", vfs.OpenHow{Resolve: linux.RESOLVE_IN_ROOT}))
	wantErr(t, open("f", vfs.OpenHow{Mode: 0o644}), linux.EINVAL)
	wantErr(t, open("f", vfs.OpenHow{Flags: 1 << 40}), linux.EINVAL)
	wantErr(t, open("f", vfs.OpenHow{Resolve: 1 << 10}), linux.EINVAL)
	wantErr(t, open("f", vfs.OpenHow{Resolve: linux.RESOLVE_IN_ROOT | linux.RESOLVE_BENEATH}), linux.EINVAL)
}

func TestInotifyEvents(t *testing.T) {
	_, fs, _ := setup(t)
	ctx := vfstest.NewContext()
	must(t, vfs.MkdirAt(ctx, fs, nil, "/w", 0o755))
	wf, inst := inotify.NewFile(linux.O_NONBLOCK)
	defer wf.DecRef()
	d, err := vfs.OpenAt(ctx, fs, nil, "/w", linux.O_PATH, 0)
	must(t, err)
	wd, err := inst.AddWatch(d.Inode(), linux.IN_ALL_EVENTS)
	must(t, err)
	d.DecRef()
	if wf.Readiness(linux.POLLIN) != 0 {
		t.Fatal("readable before any event")
	}
	writeFile(t, ctx, fs, "/w/a", "data")
	must(t, vfs.RenameAt(ctx, fs, nil, "/w/a", nil, "/w/b", 0))
	must(t, vfs.SetAttrAt(ctx, fs, nil, "/w/b", 0, vfs.SetAttrRequest{Mask: vfs.SetMode, Mode: 0o600}))
	must(t, vfs.UnlinkAt(ctx, fs, nil, "/w/b", 0))
	if wf.Readiness(linux.POLLIN) == 0 {
		t.Fatal("not readable after events")
	}
	buf := make([]byte, 4096)
	n, err := wf.Read(ctx, buf)
	must(t, err)
	var got []string
	for off := 0; off < n; {
		le := func(i int) uint32 {
			b := buf[off+i:]
			return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
		}
		if int32(le(0)) != wd {
			t.Fatalf("wd %d", le(0))
		}
		l := int(le(12))
		name := strings.TrimRight(string(buf[off+16:off+16+l]), "\x00")
		got = append(got, eventName(le(4))+":"+name)
		off += 16 + l
	}
	want := "CREATE:a MODIFY:a CLOSE_WRITE:a MOVED_FROM:a MOVED_TO:b ATTRIB:b DELETE:b"
	if strings.Join(got, " ") != want {
		t.Fatalf("events %v, want %s", got, want)
	}
	_, err = wf.Read(ctx, buf)
	wantErr(t, err, linux.EAGAIN)
	must(t, inst.RemoveWatch(wd))
	n, _ = wf.Read(ctx, buf)
	if n != 16 || buf[4] != 0 || buf[5] != 0x80 {
		t.Fatalf("no IN_IGNORED after rm_watch: %v", buf[:n])
	}
	wantErr(t, inst.RemoveWatch(wd), linux.EINVAL)
}

func eventName(m uint32) string {
	for _, e := range []struct {
		bit  uint32
		name string
	}{{linux.IN_CREATE, "CREATE"}, {linux.IN_MODIFY, "MODIFY"}, {linux.IN_CLOSE_WRITE, "CLOSE_WRITE"},
		{linux.IN_MOVED_FROM, "MOVED_FROM"}, {linux.IN_MOVED_TO, "MOVED_TO"}, {linux.IN_ATTRIB, "ATTRIB"},
		{linux.IN_DELETE, "DELETE"}, {linux.IN_CLOSE_NOWRITE, "CLOSE_NOWRITE"}} {
		if m&e.bit != 0 {
			return e.name
		}
	}
	return "?"
}

func TestTmpfileOnOverlay(t *testing.T) {
	ofs, err := overlay.New(tmpfs.New(tmpfs.Options{Mode: 0o755}), tmpfs.New(tmpfs.Options{Mode: 0o755}))
	must(t, err)
	ns, err := vfs.NewMountNamespace(ofs, vfs.MountOptions{})
	must(t, err)
	fs, err := ns.NewFSContext("/", 0o022)
	must(t, err)
	ctx := vfstest.NewContext()
	f, err := vfs.OpenAt(ctx, fs, nil, "/", linux.O_TMPFILE|linux.O_WRONLY, 0o644)
	must(t, err)
	defer f.DecRef()
	if _, err := f.Write(ctx, []byte("over")); err != nil {
		t.Fatal(err)
	}
	must(t, vfs.LinkAt(ctx, fs, f, "", nil, "/kept", linux.AT_EMPTY_PATH))
	if got := readFile(t, ctx, fs, "/kept"); got != "over" {
		t.Fatalf("linked overlay tmpfile has %q", got)
	}
}
