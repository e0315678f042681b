package vfs_test

import (
	"errors"
	"sort"
	"strings"
	"testing"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/fs/tmpfs"
	"bulwark.dev/pkg/kernel/auth"
	"bulwark.dev/pkg/vfs"
)

type testCtx struct {
	creds *auth.Credentials
	intr  chan struct{}
}

func (c *testCtx) Block(ch <-chan struct{}) error {
	select {
	case <-ch:
		return nil
	case <-c.intr:
		return linux.ERESTARTSYS
	}
}
func (c *testCtx) Credentials() *auth.Credentials       { return c.creds }
func (c *testCtx) CopyIn(uintptr, []byte) (int, error)  { return 0, linux.EFAULT }
func (c *testCtx) CopyOut(uintptr, []byte) (int, error) { return 0, linux.EFAULT }
func rootCtx() *testCtx                                 { return &testCtx{creds: auth.NewRootCredentials(), intr: make(chan struct{})} }
func userCtx(uid uint32) *testCtx {
	return &testCtx{creds: auth.NewUserCredentials(uid, uid, nil), intr: make(chan struct{})}
}
func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
func wantErr(t *testing.T, err error, want linux.Errno) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("got error %v, want %s", err, want.Name())
	}
}

func setup(t *testing.T) (*vfs.MountNamespace, *vfs.FSContext, *testCtx) {
	t.Helper()
	ns, err := vfs.NewMountNamespace(tmpfs.New(tmpfs.Options{Mode: 0o755}), vfs.MountOptions{})
	must(t, err)
	fs, err := ns.NewFSContext("/", 0o022)
	must(t, err)
	return ns, fs, rootCtx()
}

func writeFile(t *testing.T, ctx vfs.Context, fs *vfs.FSContext, path, data string) {
	t.Helper()
	f, err := vfs.OpenAt(ctx, fs, nil, path, linux.O_WRONLY|linux.O_CREAT|linux.O_TRUNC, 0o644)
	must(t, err)
	defer f.DecRef()
	if _, err := f.Write(ctx, []byte(data)); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, ctx vfs.Context, fs *vfs.FSContext, path string) string {
	t.Helper()
	f, err := vfs.OpenAt(ctx, fs, nil, path, linux.O_RDONLY, 0)
	must(t, err)
	defer f.DecRef()
	var b strings.Builder
	buf := make([]byte, 3)
	for {
		n, err := f.Read(ctx, buf)
		must(t, err)
		if n == 0 {
			return b.String()
		}
		b.Write(buf[:n])
	}
}

func TestCreateReadWrite(t *testing.T) {
	_, fs, ctx := setup(t)
	must(t, vfs.MkdirAt(ctx, fs, nil, "/a", 0o777))
	writeFile(t, ctx, fs, "/a/f", "hello world")
	if got := readFile(t, ctx, fs, "/a/f"); got != "hello world" {
		t.Fatalf("read %q", got)
	}
	st, err := vfs.StatAt(ctx, fs, nil, "/a/f", 0)
	must(t, err)
	if st.Size != 11 || st.Mode != linux.S_IFREG|0o644 {
		t.Fatalf("stat size %d mode %o", st.Size, st.Mode)
	}
	st, err = vfs.StatAt(ctx, fs, nil, "/a", 0)
	must(t, err)
	if st.Mode != linux.S_IFDIR|0o755 { // umask 022
		t.Fatalf("dir mode %o", st.Mode)
	}
	// O_EXCL on an existing file, O_TRUNC, O_APPEND.
	_, err = vfs.OpenAt(ctx, fs, nil, "/a/f", linux.O_CREAT|linux.O_EXCL|linux.O_WRONLY, 0o644)
	wantErr(t, err, linux.EEXIST)
	f, err := vfs.OpenAt(ctx, fs, nil, "/a/f", linux.O_WRONLY|linux.O_APPEND, 0)
	must(t, err)
	f.Write(ctx, []byte("!"))
	f.DecRef()
	if got := readFile(t, ctx, fs, "/a/f"); got != "hello world!" {
		t.Fatalf("after append %q", got)
	}
	writeFile(t, ctx, fs, "/a/f", "x")
	if got := readFile(t, ctx, fs, "/a/f"); got != "x" {
		t.Fatalf("after trunc %q", got)
	}
	// Seek and pread.
	f, err = vfs.OpenAt(ctx, fs, nil, "/a/f", linux.O_RDWR, 0)
	must(t, err)
	defer f.DecRef()
	off, err := f.Seek(ctx, 10, linux.SEEK_END)
	must(t, err)
	if off != 11 {
		t.Fatalf("seek end = %d", off)
	}
	f.Write(ctx, []byte("y"))
	buf := make([]byte, 20)
	n, _ := f.PRead(ctx, buf, 0)
	if string(buf[:n]) != "x\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00y" {
		t.Fatalf("sparse content %q", buf[:n])
	}
	_, err = f.Seek(ctx, -1, linux.SEEK_SET)
	wantErr(t, err, linux.EINVAL)
}

func TestOpenErrors(t *testing.T) {
	_, fs, ctx := setup(t)
	writeFile(t, ctx, fs, "/f", "")
	must(t, vfs.MkdirAt(ctx, fs, nil, "/d", 0o755))
	cases := []struct {
		path  string
		flags uint32
		want  linux.Errno
	}{
		{"/nope", 0, linux.ENOENT},
		{"/nope/x", 0, linux.ENOENT},
		{"/f/", 0, linux.ENOTDIR},
		{"/f/x", 0, linux.ENOTDIR},
		{"/f", linux.O_DIRECTORY, linux.ENOTDIR},
		{"/d", linux.O_WRONLY, linux.EISDIR},
		{"/d", linux.O_CREAT | linux.O_RDONLY, linux.EISDIR},
		{"/d/", linux.O_CREAT | linux.O_WRONLY, linux.EISDIR},
		{"", 0, linux.ENOENT},
		{"/" + strings.Repeat("x", 256), 0, linux.ENAMETOOLONG},
	}
	for _, c := range cases {
		_, err := vfs.OpenAt(ctx, fs, nil, c.path, c.flags, 0o644)
		if !errors.Is(err, c.want) {
			t.Errorf("open(%q, %#x) = %v, want %s", c.path, c.flags, err, c.want.Name())
		}
	}
}

func TestDotDotAndRoot(t *testing.T) {
	_, fs, ctx := setup(t)
	must(t, vfs.MkdirAt(ctx, fs, nil, "/a", 0o755))
	must(t, vfs.MkdirAt(ctx, fs, nil, "/a/b", 0o755))
	writeFile(t, ctx, fs, "/top", "T")
	if got := readFile(t, ctx, fs, "/a/b/../../../../top"); got != "T" {
		t.Fatalf("got %q", got)
	}
	must(t, fs.Chdir(ctx, nil, "a/b"))
	if wd := fs.WorkingDirectory(); wd != "/a/b" {
		t.Fatalf("cwd %q", wd)
	}
	if got := readFile(t, ctx, fs, "../../top"); got != "T" {
		t.Fatalf("relative got %q", got)
	}
	must(t, fs.Chdir(ctx, nil, "./.././"))
	if wd := fs.WorkingDirectory(); wd != "/a" {
		t.Fatalf("cwd %q", wd)
	}
	// Chroot into /a: ".." stops there and absolute paths start there.
	c := fs.Fork()
	must(t, c.Chroot(ctx, "/a"))
	if _, err := vfs.StatAt(ctx, c, nil, "/b", 0); err != nil {
		t.Fatal(err)
	}
	_, err := vfs.StatAt(ctx, c, nil, "/../top", 0)
	wantErr(t, err, linux.ENOENT)
}

func TestSymlinks(t *testing.T) {
	_, fs, ctx := setup(t)
	must(t, vfs.MkdirAt(ctx, fs, nil, "/d", 0o755))
	writeFile(t, ctx, fs, "/d/f", "data")
	must(t, vfs.SymlinkAt(ctx, fs, "d/f", nil, "/rel"))
	must(t, vfs.SymlinkAt(ctx, fs, "/d", nil, "/abs"))
	must(t, vfs.SymlinkAt(ctx, fs, "loop2", nil, "/loop1"))
	must(t, vfs.SymlinkAt(ctx, fs, "loop1", nil, "/loop2"))
	must(t, vfs.SymlinkAt(ctx, fs, "missing", nil, "/dangling"))
	if got := readFile(t, ctx, fs, "/rel"); got != "data" {
		t.Fatalf("rel %q", got)
	}
	if got := readFile(t, ctx, fs, "/abs/f"); got != "data" {
		t.Fatalf("abs %q", got)
	}
	if got := readFile(t, ctx, fs, "/abs/../rel"); got != "data" {
		t.Fatalf("dotdot through link %q", got)
	}
	_, err := vfs.OpenAt(ctx, fs, nil, "/loop1", 0, 0)
	wantErr(t, err, linux.ELOOP)
	_, err = vfs.OpenAt(ctx, fs, nil, "/rel", linux.O_NOFOLLOW, 0)
	wantErr(t, err, linux.ELOOP)
	_, err = vfs.OpenAt(ctx, fs, nil, "/rel/", 0, 0)
	wantErr(t, err, linux.ENOTDIR)
	st, err := vfs.StatAt(ctx, fs, nil, "/rel", linux.AT_SYMLINK_NOFOLLOW)
	must(t, err)
	if st.Mode&linux.S_IFMT != linux.S_IFLNK || st.Size != 3 {
		t.Fatalf("lstat mode %o size %d", st.Mode, st.Size)
	}
	target, err := vfs.ReadlinkAt(ctx, fs, nil, "/abs")
	must(t, err)
	if target != "/d" {
		t.Fatalf("readlink %q", target)
	}
	_, err = vfs.ReadlinkAt(ctx, fs, nil, "/d")
	wantErr(t, err, linux.EINVAL)
	// O_PATH|O_NOFOLLOW opens the link itself.
	f, err := vfs.OpenAt(ctx, fs, nil, "/rel", linux.O_PATH|linux.O_NOFOLLOW, 0)
	must(t, err)
	_, err = f.Read(ctx, make([]byte, 1))
	wantErr(t, err, linux.EBADF)
	f.DecRef()
	// O_CREAT through a dangling symlink creates the target.
	f, err = vfs.OpenAt(ctx, fs, nil, "/dangling", linux.O_CREAT|linux.O_WRONLY, 0o600)
	must(t, err)
	f.DecRef()
	if _, err := vfs.StatAt(ctx, fs, nil, "/missing", 0); err != nil {
		t.Fatal(err)
	}
	// 40 links are fine, 41 are not.
	must(t, vfs.SymlinkAt(ctx, fs, "/d/f", nil, "/c0"))
	for i := 1; i <= 40; i++ {
		must(t, vfs.SymlinkAt(ctx, fs, "/c"+itoa(i-1), nil, "/c"+itoa(i)))
	}
	if _, err := vfs.StatAt(ctx, fs, nil, "/c39", 0); err != nil {
		t.Fatalf("40 links: %v", err)
	}
	_, err = vfs.StatAt(ctx, fs, nil, "/c40", 0)
	wantErr(t, err, linux.ELOOP)
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

func TestMounts(t *testing.T) {
	ns, fs, ctx := setup(t)
	must(t, ns.Mount("/mnt/inner", tmpfs.New(tmpfs.Options{}), vfs.MountOptions{}))
	must(t, ns.Mount("/ro", tmpfs.New(tmpfs.Options{}), vfs.MountOptions{ReadOnly: true, Source: "none"}))
	writeFile(t, ctx, fs, "/mnt/inner/x", "in")
	writeFile(t, ctx, fs, "/mnt/y", "out")
	if got := readFile(t, ctx, fs, "/mnt/inner/../y"); got != "out" {
		t.Fatalf("got %q", got)
	}
	f, err := vfs.OpenAt(ctx, fs, nil, "/mnt/inner/x", 0, 0)
	must(t, err)
	if p := f.PathName(); p != "/mnt/inner/x" {
		t.Fatalf("PathName %q", p)
	}
	f.DecRef()
	must(t, fs.Chdir(ctx, nil, "/mnt/inner"))
	if wd := fs.WorkingDirectory(); wd != "/mnt/inner" {
		t.Fatalf("cwd %q", wd)
	}
	must(t, fs.Chdir(ctx, nil, ".."))
	if wd := fs.WorkingDirectory(); wd != "/mnt" {
		t.Fatalf("cwd after .. %q", wd)
	}
	// Devices differ across mounts.
	a, _ := vfs.StatAt(ctx, fs, nil, "/mnt", 0)
	b, _ := vfs.StatAt(ctx, fs, nil, "/mnt/inner", 0)
	if a.DevMinor == b.DevMinor {
		t.Fatal("same device across a mount")
	}
	wantErr(t, vfs.RenameAt(ctx, fs, nil, "/mnt/y", nil, "/mnt/inner/y", 0), linux.EXDEV)
	wantErr(t, vfs.UnlinkAt(ctx, fs, nil, "/mnt/inner", linux.AT_REMOVEDIR), linux.EBUSY)
	wantErr(t, vfs.MkdirAt(ctx, fs, nil, "/ro/x", 0o755), linux.EROFS)
	_, err = vfs.OpenAt(ctx, fs, nil, "/ro/x", linux.O_CREAT|linux.O_WRONLY, 0o644)
	wantErr(t, err, linux.EROFS)
	text := ns.MountsText()
	if !strings.Contains(text, "tmpfs /mnt/inner tmpfs rw 0 0\n") || !strings.Contains(text, "none /ro tmpfs ro 0 0\n") {
		t.Fatalf("mounts:\n%s", text)
	}
}

func TestMountOnReadOnlyParentFails(t *testing.T) {
	ns, _, _ := setup(t)
	must(t, ns.Mount("/ro", tmpfs.New(tmpfs.Options{}), vfs.MountOptions{ReadOnly: true}))
	err := ns.Mount("/ro/sub", tmpfs.New(tmpfs.Options{}), vfs.MountOptions{})
	if err == nil || !strings.Contains(err.Error(), `"/ro/sub"`) || !errors.Is(err, linux.EROFS) {
		t.Fatalf("got %v", err)
	}
}

func TestPermissions(t *testing.T) {
	_, fs, ctx := setup(t)
	must(t, vfs.MkdirAt(ctx, fs, nil, "/priv", 0o700))
	writeFile(t, ctx, fs, "/priv/f", "s")
	writeFile(t, ctx, fs, "/pub", "p")
	u := userCtx(1000)
	_, err := vfs.OpenAt(u, fs, nil, "/priv/f", 0, 0)
	wantErr(t, err, linux.EACCES)
	if got := readFile(t, u, fs, "/pub"); got != "p" {
		t.Fatal(got)
	}
	_, err = vfs.OpenAt(u, fs, nil, "/pub", linux.O_WRONLY, 0)
	wantErr(t, err, linux.EACCES)
	wantErr(t, vfs.MkdirAt(u, fs, nil, "/x", 0o755), linux.EACCES)
	wantErr(t, vfs.AccessAt(u, fs, nil, "/pub", linux.W_OK, 0), linux.EACCES)
	must(t, vfs.AccessAt(u, fs, nil, "/pub", linux.R_OK, 0))
	wantErr(t, vfs.SetAttrAt(u, fs, nil, "/pub", 0, vfs.SetAttrRequest{Mask: vfs.SetMode, Mode: 0o777}), linux.EPERM)
	must(t, vfs.SetAttrAt(ctx, fs, nil, "/pub", 0, vfs.SetAttrRequest{Mask: vfs.SetUID | vfs.SetGID, UID: 1000, GID: 1000}))
	must(t, vfs.SetAttrAt(u, fs, nil, "/pub", 0, vfs.SetAttrRequest{Mask: vfs.SetMode, Mode: 0o600}))
	st, _ := vfs.StatAt(u, fs, nil, "/pub", 0)
	if st.Mode != linux.S_IFREG|0o600 || st.UID != 1000 {
		t.Fatalf("mode %o uid %d", st.Mode, st.UID)
	}
	// Root can read anything but cannot execute a file without x bits.
	_, err = vfs.OpenExec(ctx, fs, "/pub")
	wantErr(t, err, linux.EACCES)
	must(t, vfs.SetAttrAt(ctx, fs, nil, "/pub", 0, vfs.SetAttrRequest{Mask: vfs.SetMode, Mode: 0o700}))
	f, err := vfs.OpenExec(ctx, fs, "/pub")
	must(t, err)
	f.DecRef()
	// Sticky /tmp: another user cannot remove my file.
	must(t, vfs.MkdirAt(ctx, fs, nil, "/tmp", 0o777))
	must(t, vfs.SetAttrAt(ctx, fs, nil, "/tmp", 0, vfs.SetAttrRequest{Mask: vfs.SetMode, Mode: 0o1777}))
	writeFile(t, u, fs, "/tmp/mine", "")
	wantErr(t, vfs.UnlinkAt(userCtx(1001), fs, nil, "/tmp/mine", 0), linux.EPERM)
	must(t, vfs.UnlinkAt(u, fs, nil, "/tmp/mine", 0))
}

func TestUnlinkRenameLink(t *testing.T) {
	_, fs, ctx := setup(t)
	must(t, vfs.MkdirAt(ctx, fs, nil, "/d", 0o755))
	must(t, vfs.MkdirAt(ctx, fs, nil, "/d/sub", 0o755))
	writeFile(t, ctx, fs, "/d/f", "F")
	wantErr(t, vfs.UnlinkAt(ctx, fs, nil, "/d", 0), linux.EISDIR)
	wantErr(t, vfs.UnlinkAt(ctx, fs, nil, "/d", linux.AT_REMOVEDIR), linux.ENOTEMPTY)
	wantErr(t, vfs.UnlinkAt(ctx, fs, nil, "/d/f", linux.AT_REMOVEDIR), linux.ENOTDIR)
	wantErr(t, vfs.UnlinkAt(ctx, fs, nil, "/d/f/", 0), linux.ENOTDIR)
	wantErr(t, vfs.UnlinkAt(ctx, fs, nil, "/d/.", linux.AT_REMOVEDIR), linux.EINVAL)
	wantErr(t, vfs.MkdirAt(ctx, fs, nil, "/d/sub", 0o755), linux.EEXIST)
	wantErr(t, vfs.MkdirAt(ctx, fs, nil, "/d/sub/", 0o755), linux.EEXIST)

	must(t, vfs.LinkAt(ctx, fs, nil, "/d/f", nil, "/d/hard", 0))
	st, _ := vfs.StatAt(ctx, fs, nil, "/d/f", 0)
	if st.Nlink != 2 {
		t.Fatalf("nlink %d", st.Nlink)
	}
	wantErr(t, vfs.LinkAt(ctx, fs, nil, "/d/sub", nil, "/d/sub2", 0), linux.EPERM)

	// An open file survives unlink and reports " (deleted)".
	f, err := vfs.OpenAt(ctx, fs, nil, "/d/f", linux.O_RDONLY, 0)
	must(t, err)
	must(t, vfs.UnlinkAt(ctx, fs, nil, "/d/f", 0))
	buf := make([]byte, 4)
	if n, _ := f.Read(ctx, buf); string(buf[:n]) != "F" {
		t.Fatalf("read after unlink %q", buf[:n])
	}
	if p := f.PathName(); p != "/d/f (deleted)" {
		t.Fatalf("PathName %q", p)
	}
	f.DecRef()
	if got := readFile(t, ctx, fs, "/d/hard"); got != "F" {
		t.Fatal(got)
	}

	// Rename a directory; its cached children follow, and cwd paths too.
	must(t, fs.Chdir(ctx, nil, "/d/sub"))
	must(t, vfs.RenameAt(ctx, fs, nil, "/d/sub", nil, "/moved", 0))
	if wd := fs.WorkingDirectory(); wd != "/moved" {
		t.Fatalf("cwd after rename %q", wd)
	}
	wantErr(t, vfs.RenameAt(ctx, fs, nil, "/d", nil, "/d/x", 0), linux.EINVAL)
	writeFile(t, ctx, fs, "/a", "A")
	writeFile(t, ctx, fs, "/b", "B")
	wantErr(t, vfs.RenameAt(ctx, fs, nil, "/a", nil, "/b", linux.RENAME_NOREPLACE), linux.EEXIST)
	must(t, vfs.RenameAt(ctx, fs, nil, "/a", nil, "/b", 0))
	if got := readFile(t, ctx, fs, "/b"); got != "A" {
		t.Fatal(got)
	}
	_, err = vfs.StatAt(ctx, fs, nil, "/a", 0)
	wantErr(t, err, linux.ENOENT)
	wantErr(t, vfs.RenameAt(ctx, fs, nil, "/b", nil, "/moved", 0), linux.EISDIR)
	wantErr(t, vfs.RenameAt(ctx, fs, nil, "/moved", nil, "/b", 0), linux.ENOTDIR)
}

func listDir(t *testing.T, ctx vfs.Context, fs *vfs.FSContext, path string) []string {
	t.Helper()
	f, err := vfs.OpenAt(ctx, fs, nil, path, linux.O_RDONLY|linux.O_DIRECTORY, 0)
	must(t, err)
	defer f.DecRef()
	var names []string
	// Two entries per call, to test resuming at the offset.
	for {
		got := 0
		must(t, f.Readdir(ctx, func(d vfs.Dirent, _ int64) bool {
			if got == 2 {
				return false
			}
			got++
			names = append(names, d.Name)
			return true
		}))
		if got == 0 {
			break
		}
	}
	sort.Strings(names)
	return names
}

func TestReaddir(t *testing.T) {
	_, fs, ctx := setup(t)
	for _, n := range []string{"c", "a", "b"} {
		writeFile(t, ctx, fs, "/"+n, "")
	}
	if got := strings.Join(listDir(t, ctx, fs, "/"), ","); got != ".,..,a,b,c" {
		t.Fatalf("got %s", got)
	}
}

func TestFDTable(t *testing.T) {
	_, fs, ctx := setup(t)
	writeFile(t, ctx, fs, "/f", "")
	f, err := vfs.OpenAt(ctx, fs, nil, "/f", 0, 0)
	must(t, err)
	tab := vfs.NewFDTable()
	for want := int32(0); want < 3; want++ {
		fd, err := tab.NewFD(0, f, vfs.FDFlags{CloseOnExec: want == 1})
		must(t, err)
		if fd != want {
			t.Fatalf("fd %d want %d", fd, want)
		}
	}
	fd, _ := tab.NewFD(10, f, vfs.FDFlags{})
	if fd != 10 {
		t.Fatalf("min fd: %d", fd)
	}
	old, err := tab.Remove(0)
	must(t, err)
	old.DecRef()
	if fd, _ := tab.NewFD(0, f, vfs.FDFlags{}); fd != 0 {
		t.Fatalf("lowest free: %d", fd)
	}
	child := tab.Fork()
	tab.CloseOnExec()
	if got := tab.FDs(); len(got) != 3 || got[1] != 2 {
		t.Fatalf("after cloexec %v", got)
	}
	if got := child.FDs(); len(got) != 4 {
		t.Fatalf("fork %v", got)
	}
	must(t, tab.NewFDAt(2, f, vfs.FDFlags{CloseOnExec: true}))
	_, flags, err := tab.Get(2)
	must(t, err)
	if !flags.CloseOnExec {
		t.Fatal("dup3 flags lost")
	}
	_, _, err = tab.Get(5)
	wantErr(t, err, linux.EBADF)
	tab.Release()
	child.Release()
	f.DecRef()
}

func TestSynthetic(t *testing.T) {
	ns, fs, ctx := setup(t)
	count := 0
	pids := []string{"1", "7"}
	root := vfs.NewDynamicDir(0o555, func(vfs.Context) ([]vfs.Entry, error) {
		var e []vfs.Entry
		for _, p := range pids {
			p := p
			e = append(e, vfs.Entry{Name: p, Inode: vfs.NewStaticDir(0o555, []vfs.Entry{
				{Name: "status", Inode: vfs.NewFuncFile(0o444, func(vfs.Context) ([]byte, error) {
					count++
					return []byte("Pid:\t" + p + "\n"), nil
				})},
			})})
		}
		e = append(e, vfs.Entry{Name: "self", Inode: vfs.NewStaticSymlink(pids[0])})
		return e, nil
	})
	must(t, ns.Mount("/proc", vfs.NewSyntheticFS("proc", linux.PROC_MAGIC, root), vfs.MountOptions{Source: "proc"}))
	if got := readFile(t, ctx, fs, "/proc/self/status"); got != "Pid:\t1\n" {
		t.Fatalf("got %q", got)
	}
	if got := strings.Join(listDir(t, ctx, fs, "/proc"), ","); got != ".,..,1,7,self" {
		t.Fatalf("list %s", got)
	}
	pids = []string{"7"}
	_, err := vfs.StatAt(ctx, fs, nil, "/proc/1", 0)
	wantErr(t, err, linux.ENOENT)
	if got := readFile(t, ctx, fs, "/proc/self/status"); got != "Pid:\t7\n" {
		t.Fatalf("got %q", got)
	}
	_, err = vfs.OpenAt(ctx, fs, nil, "/proc/7/status", linux.O_WRONLY, 0)
	wantErr(t, err, linux.EACCES)
	wantErr(t, vfs.MkdirAt(ctx, fs, nil, "/proc/x", 0o755), linux.EPERM)
}

func TestBackgroundContextMount(t *testing.T) {
	// Mounting creates missing mount points, including file mount points.
	ns, fs, ctx := setup(t)
	fileFS := vfs.NewSyntheticFS("bind", 0, vfs.NewStaticFile(0o444, []byte("resolv")))
	must(t, ns.Mount("/etc/resolv.conf", fileFS, vfs.MountOptions{}))
	if got := readFile(t, ctx, fs, "/etc/resolv.conf"); got != "resolv" {
		t.Fatalf("got %q", got)
	}
}
