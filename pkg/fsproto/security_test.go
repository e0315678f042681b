package fsproto

import (
	"os"
	"path/filepath"
	"testing"

	"bulwark.dev/pkg/abi/linux"
	"golang.org/x/sys/unix"
)

// escapeTree serves dir/root, next to dir/outside which holds a secret, and
// plants symlinks in the served tree that point out of it.
func escapeTree(t *testing.T, opts ServerOptions) (*Client, FID, string, string) {
	t.Helper()
	base := t.TempDir()
	served := filepath.Join(base, "root")
	outside := filepath.Join(base, "outside")
	writeFile(t, filepath.Join(outside, "secret"), "secret")
	writeFile(t, filepath.Join(served, "sub", "plain"), "plain")
	for name, target := range map[string]string{
		"etc":     "/etc",
		"passwd":  "/etc/passwd",
		"up":      "../../..",
		"sub/up2": "../..",
		"out":     "../outside",
		"secret":  "../outside/secret",
		"newfile": "../outside/created",
	} {
		if err := os.Symlink(target, filepath.Join(served, name)); err != nil {
			t.Fatal(err)
		}
	}
	fd, err := unix.Open(served, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := NewServer(fd, opts)
	if err != nil {
		t.Fatal(err)
	}
	c := serve(t, srv)
	root, _, err := c.Attach()
	if err != nil {
		t.Fatal(err)
	}
	return c, root, served, outside
}

func TestSymlinksNeverFollowed(t *testing.T) {
	c, root, _, outside := escapeTree(t, ServerOptions{})
	sub, _ := walkPath(t, c, root, "sub")
	links := []struct {
		dir  FID
		name string
	}{{root, "etc"}, {root, "passwd"}, {root, "up"}, {sub, "up2"}, {root, "out"}, {root, "secret"}}
	for _, l := range links {
		f, a, err := c.Walk(l.dir, l.name)
		if err != nil {
			t.Fatalf("Walk(%s): %v", l.name, err)
		}
		if a.Mode&unix.S_IFMT != unix.S_IFLNK {
			t.Errorf("Walk(%s) gave mode %o: the symlink was followed", l.name, a.Mode)
		}
		for _, below := range []string{"passwd", "secret", "x"} {
			if _, _, err := c.Walk(f, below); err != linux.ENOTDIR {
				t.Errorf("Walk(%s/%s) = %v, want ENOTDIR", l.name, below, err)
			}
		}
		for _, flags := range []uint32{unix.O_RDONLY, unix.O_WRONLY, unix.O_RDONLY | unix.O_DIRECTORY} {
			if fd, err := c.Open(f, flags); err == nil {
				unix.Close(fd)
				t.Errorf("Open(%s, %#x) succeeded through a symlink", l.name, flags)
			}
		}
		if _, err := c.Readdir(f); err != linux.ENOTDIR {
			t.Errorf("Readdir(%s) = %v, want ENOTDIR", l.name, err)
		}
		if _, _, _, err := c.Create(f, "x", unix.O_RDWR, 0o644, 0, 0); err != linux.ENOTDIR {
			t.Errorf("Create below %s = %v, want ENOTDIR", l.name, err)
		}
	}
	// Creating over a dangling symlink must not create its target.
	if _, _, _, err := c.Create(root, "newfile", unix.O_RDWR, 0o644, 0, 0); err != linux.EEXIST {
		t.Errorf("Create over symlink = %v, want EEXIST", err)
	}
	if _, err := os.Lstat(filepath.Join(outside, "created")); !os.IsNotExist(err) {
		t.Errorf("Create through a symlink reached outside: %v", err)
	}
	// Readlink returns the target for the sandbox to resolve itself.
	f, _, _ := c.Walk(root, "up")
	if tgt, err := c.Readlink(f); err != nil || tgt != "../../.." {
		t.Errorf("Readlink(up) = %q, %v", tgt, err)
	}
}

func TestSetAttrOnSymlinkLeavesTarget(t *testing.T) {
	needRoot(t)
	c, root, _, outside := escapeTree(t, ServerOptions{})
	secret := filepath.Join(outside, "secret")
	before, _ := os.Lstat(secret)
	f, _, _ := c.Walk(root, "secret")
	c.SetAttr(f, SetAttrRequest{Mask: SetMode, Mode: 0o777})
	c.SetAttr(f, SetAttrRequest{Mask: SetUID | SetGID, UID: 4242, GID: 4242})
	if err := c.SetAttr(f, SetAttrRequest{Mask: SetSize}); err == nil {
		t.Error("truncate of a symlink succeeded")
	}
	c.SetAttr(f, SetAttrRequest{Mask: SetMtime, Mtime: 1})
	var st unix.Stat_t
	if err := unix.Lstat(secret, &st); err != nil {
		t.Fatal(err)
	}
	if os.FileMode(st.Mode&0o777) != before.Mode().Perm() || st.Uid == 4242 || st.Size != 6 || st.Mtim.Nano() == 1 {
		t.Errorf("target changed through the symlink: mode %o uid %d size %d", st.Mode, st.Uid, st.Size)
	}
	// Hard-linking a symlink links the symlink, not its target.
	if _, err := c.Link(root, "hard", f); err != nil {
		t.Fatalf("Link(symlink): %v", err)
	}
	h, a, _ := c.Walk(root, "hard")
	if a.Mode&unix.S_IFMT != unix.S_IFLNK {
		t.Errorf("hard link to symlink has mode %o", a.Mode)
	}
	if _, err := c.Open(h, unix.O_RDONLY); err == nil {
		t.Error("Open of the hard-linked symlink succeeded")
	}
}

func TestBadNamesRefused(t *testing.T) {
	c, root, _, _ := escapeTree(t, ServerOptions{})
	sub, _ := walkPath(t, c, root, "sub")
	for _, name := range []string{"..", ".", "", "sub/plain", "../root", "/etc", "a\x00b"} {
		if _, _, err := c.Walk(root, name); err != linux.EINVAL {
			t.Errorf("Walk(%q) = %v, want EINVAL", name, err)
		}
		if _, _, _, err := c.Create(sub, name, unix.O_RDWR, 0o644, 0, 0); err != linux.EINVAL {
			t.Errorf("Create(%q) = %v, want EINVAL", name, err)
		}
		if _, _, err := c.Mkdir(sub, name, 0o755, 0, 0); err != linux.EINVAL {
			t.Errorf("Mkdir(%q) = %v, want EINVAL", name, err)
		}
		if _, _, err := c.Symlink(sub, name, "x", 0, 0); err != linux.EINVAL {
			t.Errorf("Symlink(%q) = %v, want EINVAL", name, err)
		}
		if err := c.Unlink(sub, name, 0); err != linux.EINVAL {
			t.Errorf("Unlink(%q) = %v, want EINVAL", name, err)
		}
		if err := c.Rename(sub, "plain", root, name); err != linux.EINVAL {
			t.Errorf("Rename(plain, %q) = %v, want EINVAL", name, err)
		}
		if err := c.Rename(sub, name, root, "x"); err != linux.EINVAL {
			t.Errorf("Rename(%q, x) = %v, want EINVAL", name, err)
		}
	}
	long := string(make([]byte, 300))
	if _, _, err := c.Walk(root, long); err != linux.ENAMETOOLONG {
		t.Errorf("Walk(300 bytes) = %v, want ENAMETOOLONG", err)
	}
	// ".." goes through WalkParent, which stops at the root.
	_, rootAttr, _ := c.WalkParent(root)
	f := sub
	for range 5 {
		var a Attr
		var err error
		if f, a, err = c.WalkParent(f); err != nil {
			t.Fatal(err)
		}
		if a.Ino != rootAttr.Ino {
			t.Errorf("WalkParent climbed to ino %d, above the root %d", a.Ino, rootAttr.Ino)
		}
	}
}

// A name swapped for a symlink on the host after the walk is not followed
// when the file is opened.
func TestOpenAfterHostSwap(t *testing.T) {
	c, root, served, outside := escapeTree(t, ServerOptions{})
	sub, _ := walkPath(t, c, root, "sub")
	f, _ := walkPath(t, c, sub, "plain")
	p := filepath.Join(served, "sub", "plain")
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "secret"), p); err != nil {
		t.Fatal(err)
	}
	for _, flags := range []uint32{unix.O_RDONLY, unix.O_RDWR | unix.O_TRUNC} {
		if fd, err := c.Open(f, flags); err == nil {
			t.Errorf("Open after swap (%#x) gave %q", flags, readFD(t, fd))
		}
	}
	if err := c.SetAttr(f, SetAttrRequest{Mask: SetSize, Size: 0}); err == nil {
		t.Error("truncate after swap succeeded")
	}
	if b, _ := os.ReadFile(filepath.Join(outside, "secret")); string(b) != "secret" {
		t.Errorf("outside file changed: %q", b)
	}
	// Swapped for a regular file: the old FID is stale, not the new file.
	os.Remove(p)
	writeFile(t, p, "other")
	if _, err := c.Open(f, unix.O_RDONLY); err != linux.ESTALE {
		t.Errorf("Open after replacement = %v, want ESTALE", err)
	}
}

func TestDeviceNodesNotOpened(t *testing.T) {
	needRoot(t)
	c, root, served, _ := escapeTree(t, ServerOptions{})
	if err := unix.Mknod(filepath.Join(served, "null"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))); err != nil {
		t.Skipf("mknod: %v", err)
	}
	f, a := walkPath(t, c, root, "null")
	if a.Mode&unix.S_IFMT != unix.S_IFCHR || a.Rdev != unix.Mkdev(1, 3) {
		t.Errorf("stat of device: %+v", a)
	}
	if _, err := c.Open(f, unix.O_RDWR); err != linux.EPERM {
		t.Errorf("Open(char device) = %v, want EPERM", err)
	}
}

func TestReadOnly(t *testing.T) {
	c, root, served, _ := escapeTree(t, ServerOptions{ReadOnly: true})
	sub, _ := walkPath(t, c, root, "sub")
	f, _ := walkPath(t, c, sub, "plain")
	fd, err := c.Open(f, unix.O_RDONLY)
	if err != nil {
		t.Fatalf("Open(O_RDONLY) on read-only: %v", err)
	}
	if got := readFD(t, fd); got != "plain" {
		t.Errorf("read %q", got)
	}
	if _, err := c.Readdir(sub); err != nil {
		t.Errorf("Readdir on read-only: %v", err)
	}
	check := func(what string, err error) { t.Helper(); wantErrno(t, what, err, linux.EROFS) }
	for _, flags := range []uint32{unix.O_WRONLY, unix.O_RDWR, unix.O_RDONLY | unix.O_TRUNC} {
		_, err := c.Open(f, flags)
		check("Open for writing", err)
	}
	_, _, _, err = c.Create(sub, "n", unix.O_RDWR, 0o644, 0, 0)
	check("Create", err)
	_, _, err = c.Mkdir(sub, "n", 0o755, 0, 0)
	check("Mkdir", err)
	_, _, err = c.Mknod(sub, "n", unix.S_IFIFO|0o644, 0, 0)
	check("Mknod", err)
	_, _, err = c.Symlink(sub, "n", "x", 0, 0)
	check("Symlink", err)
	_, err = c.Link(sub, "n", f)
	check("Link", err)
	check("Unlink", c.Unlink(sub, "plain", 0))
	check("Rename", c.Rename(sub, "plain", sub, "n"))
	check("SetAttr", c.SetAttr(f, SetAttrRequest{Mask: SetMode, Mode: 0o777}))
	if b, err := os.ReadFile(filepath.Join(served, "sub", "plain")); err != nil || string(b) != "plain" {
		t.Errorf("host file after read-only attempts: %q, %v", b, err)
	}
	if ents, _ := os.ReadDir(filepath.Join(served, "sub")); len(ents) != 2 {
		t.Errorf("host dir changed: %d entries", len(ents))
	}
}
