package gofer_test

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"golang.org/x/sys/unix"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/fs/gofer"
	"bulwark.dev/pkg/fsproto"
	"bulwark.dev/pkg/kernel/auth"
	"bulwark.dev/pkg/vfs"
)

// forModes runs test on a shared and on an exclusive filesystem.
func forModes(t *testing.T, test func(*testing.T, gofer.Options)) {
	t.Run("shared", func(t *testing.T) { test(t, gofer.Options{}) })
	t.Run("exclusive", func(t *testing.T) { test(t, gofer.Options{Exclusive: true}) })
}

// newFS serves dir with a real fsproto server and returns an FSContext
// whose root is a gofer filesystem over it.
func newFS(t *testing.T, dir string, ro bool, opts gofer.Options) *vfs.FSContext {
	t.Helper()
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := fsproto.NewServer(fd, fsproto.ServerOptions{ReadOnly: ro})
	if err != nil {
		t.Fatal(err)
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { srv.Serve(fds[0]); close(done) }()
	client, err := fsproto.NewClient(fds[1])
	if err != nil {
		t.Fatal(err)
	}
	fs, err := gofer.New(client, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fs.Close(); <-done; srv.Close() })
	ns, err := vfs.NewMountNamespace(fs, vfs.MountOptions{ReadOnly: ro})
	if err != nil {
		t.Fatal(err)
	}
	fsc, err := ns.NewFSContext("/", 0o022)
	if err != nil {
		t.Fatal(err)
	}
	return fsc
}

var ctx = vfs.BackgroundContext(auth.NewRootCredentials())

func read(t *testing.T, fs *vfs.FSContext, path string) string {
	t.Helper()
	f, err := vfs.OpenAt(ctx, fs, nil, path, linux.O_RDONLY, 0)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer f.DecRef()
	buf := make([]byte, 100)
	n, err := f.Read(ctx, buf)
	if err != nil {
		t.Fatal(err)
	}
	return string(buf[:n])
}

func TestGoferReadWrite(t *testing.T) { forModes(t, testGoferReadWrite) }

func testGoferReadWrite(t *testing.T, opts gofer.Options) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "etc"), 0o755)
	os.WriteFile(filepath.Join(dir, "etc/hostname"), []byte("box\n"), 0o644)
	os.Symlink("etc/hostname", filepath.Join(dir, "link"))
	os.Symlink("/etc", filepath.Join(dir, "abs"))
	fs := newFS(t, dir, false, opts)

	if got := read(t, fs, "/etc/hostname"); got != "box\n" {
		t.Fatalf("got %q", got)
	}
	if got := read(t, fs, "/link"); got != "box\n" {
		t.Fatalf("via symlink %q", got)
	}
	// An absolute symlink resolves in the sandbox tree, and ".." at the
	// root stays at the root.
	if got := read(t, fs, "/abs/../../../abs/hostname"); got != "box\n" {
		t.Fatalf("abs %q", got)
	}

	f, err := vfs.OpenAt(ctx, fs, nil, "/etc/new", linux.O_CREAT|linux.O_WRONLY, 0o640)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(ctx, []byte("written"))
	st, err := f.Stat(ctx)
	if err != nil || st.Size != 7 {
		t.Fatalf("stat %v size %d", err, st.Size)
	}
	f.DecRef()
	if b, _ := os.ReadFile(filepath.Join(dir, "etc/new")); string(b) != "written" {
		t.Fatalf("host sees %q", b)
	}
	if err := vfs.MkdirAt(ctx, fs, nil, "/d", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := vfs.RenameAt(ctx, fs, nil, "/etc/new", nil, "/d/moved", 0); err != nil {
		t.Fatal(err)
	}
	if got := read(t, fs, "/d/moved"); got != "written" {
		t.Fatalf("after rename %q", got)
	}
	if err := vfs.SymlinkAt(ctx, fs, "moved", nil, "/d/sl"); err != nil {
		t.Fatal(err)
	}
	if target, _ := os.Readlink(filepath.Join(dir, "d/sl")); target != "moved" {
		t.Fatalf("host symlink %q", target)
	}
	if err := vfs.SetAttrAt(ctx, fs, nil, "/d/moved", 0, vfs.SetAttrRequest{Mask: vfs.SetSize, Size: 3}); err != nil {
		t.Fatal(err)
	}
	if got := read(t, fs, "/d/sl"); got != "wri" {
		t.Fatalf("after truncate %q", got)
	}

	d, err := vfs.OpenAt(ctx, fs, nil, "/d", linux.O_RDONLY|linux.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	d.Readdir(ctx, func(e vfs.Dirent, _ int64) bool { names = append(names, e.Name); return true })
	d.DecRef()
	sort.Strings(names)
	if len(names) != 4 || names[2] != "moved" || names[3] != "sl" {
		t.Fatalf("readdir %v", names)
	}
	if err := vfs.UnlinkAt(ctx, fs, nil, "/d/sl", 0); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "d/sl")); !os.IsNotExist(err) {
		t.Fatalf("host still has the link: %v", err)
	}
	if err := vfs.UnlinkAt(ctx, fs, nil, "/d", linux.AT_REMOVEDIR); !errors.Is(err, linux.ENOTEMPTY) {
		t.Fatalf("rmdir non-empty: %v", err)
	}
}

func TestGoferReadOnly(t *testing.T) { forModes(t, testGoferReadOnly) }

func testGoferReadOnly(t *testing.T, opts gofer.Options) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "f"), []byte("x"), 0o644)
	fs := newFS(t, dir, true, opts)
	if got := read(t, fs, "/f"); got != "x" {
		t.Fatal(got)
	}
	_, err := vfs.OpenAt(ctx, fs, nil, "/f", linux.O_WRONLY, 0)
	if !errors.Is(err, linux.EROFS) {
		t.Fatalf("write open: %v", err)
	}
	if err := vfs.MkdirAt(ctx, fs, nil, "/d", 0o755); !errors.Is(err, linux.EROFS) {
		t.Fatalf("mkdir: %v", err)
	}
}
