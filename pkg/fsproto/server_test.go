package fsproto

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"bulwark.dev/pkg/abi/linux"
	"golang.org/x/sys/unix"
)

func TestWalkStatOpenRead(t *testing.T) {
	c, root, dir := newTree(t, ServerOptions{})
	writeFile(t, filepath.Join(dir, "a", "b.txt"), "hello")

	a, aAttr := walkPath(t, c, root, "a")
	if aAttr.Mode&unix.S_IFMT != unix.S_IFDIR {
		t.Errorf("a: mode %o, want a directory", aAttr.Mode)
	}
	b, bAttr := walkPath(t, c, a, "b.txt")
	var st unix.Stat_t
	if err := unix.Lstat(filepath.Join(dir, "a", "b.txt"), &st); err != nil {
		t.Fatal(err)
	}
	if bAttr.Size != 5 || bAttr.Ino != st.Ino || bAttr.Mode != st.Mode || bAttr.Mtime != st.Mtim.Nano() {
		t.Errorf("walk attr %+v does not match host stat %+v", bAttr, st)
	}
	if got, err := c.Stat(b); err != nil || got != bAttr {
		t.Errorf("Stat = %+v, %v; want %+v", got, err, bAttr)
	}
	fd, err := c.Open(b, unix.O_RDONLY)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if got := readFD(t, fd); got != "hello" {
		t.Errorf("read %q, want hello", got)
	}
	if _, _, err := c.Walk(a, "missing"); err != linux.ENOENT {
		t.Errorf("Walk(missing) = %v, want ENOENT", err)
	}
	if _, _, err := c.Walk(b, "x"); err != linux.ENOTDIR {
		t.Errorf("Walk below a file = %v, want ENOTDIR", err)
	}
	if _, err := c.Open(b, unix.O_RDONLY|unix.O_CREAT); err != linux.EINVAL {
		t.Errorf("Open(O_CREAT) = %v, want EINVAL", err)
	}
	dfd, err := c.Open(a, unix.O_RDONLY)
	if err != nil {
		t.Fatalf("Open(dir): %v", err)
	}
	unix.Close(dfd)
	if _, err := c.Open(a, unix.O_RDWR); err != linux.EISDIR {
		t.Errorf("Open(dir, O_RDWR) = %v, want EISDIR", err)
	}
}

func TestWalkParent(t *testing.T) {
	c, root, _ := newTree(t, ServerOptions{})
	_, rootAttr, err := c.WalkParent(root)
	if err != nil {
		t.Fatal(err)
	}
	d, dAttr, err := c.Mkdir(root, "d", 0o755, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	e, _, err := c.Mkdir(d, "e", 0o755, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, pa, err := c.WalkParent(e); err != nil || pa.Ino != dAttr.Ino {
		t.Errorf("WalkParent(d/e) = ino %d, %v; want d's %d", pa.Ino, err, dAttr.Ino)
	}
	if _, pa, err := c.WalkParent(d); err != nil || pa.Ino != rootAttr.Ino {
		t.Errorf("WalkParent(d) = ino %d, %v; want root's %d", pa.Ino, err, rootAttr.Ino)
	}
	// The parent stays reachable after its FID is released.
	if err := c.Release(d); err != nil {
		t.Fatal(err)
	}
	if _, pa, err := c.WalkParent(e); err != nil || pa.Ino != dAttr.Ino {
		t.Errorf("WalkParent after Release(d) = ino %d, %v", pa.Ino, err)
	}
}

func TestCreate(t *testing.T) {
	needRoot(t)
	c, root, dir := newTree(t, ServerOptions{})
	f, attr, fd, err := c.Create(root, "new", unix.O_RDWR, 0o4751, 1234, 5678)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if _, err := unix.Write(fd, []byte("data")); err != nil {
		t.Fatalf("write to donated fd: %v", err)
	}
	unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Lstat(filepath.Join(dir, "new"), &st); err != nil {
		t.Fatal(err)
	}
	if st.Uid != 1234 || st.Gid != 5678 || st.Mode != unix.S_IFREG|0o4751 || st.Size != 4 {
		t.Errorf("host file: uid %d gid %d mode %o size %d; want 1234 5678 %o 4", st.Uid, st.Gid, st.Mode, st.Size, unix.S_IFREG|0o4751)
	}
	if attr.UID != 1234 || attr.Mode != unix.S_IFREG|0o4751 || attr.Ino != st.Ino {
		t.Errorf("Create attr %+v", attr)
	}
	if _, _, _, err := c.Create(root, "new", unix.O_RDWR, 0o644, 0, 0); err != linux.EEXIST {
		t.Errorf("second Create = %v, want EEXIST", err)
	}
	// The new FID can be opened again.
	fd, err = c.Open(f, unix.O_RDONLY)
	if err != nil {
		t.Fatalf("Open(created): %v", err)
	}
	if got := readFD(t, fd); got != "data" {
		t.Errorf("read %q", got)
	}
}

func TestMkdirSymlinkLinkMknod(t *testing.T) {
	needRoot(t)
	c, root, dir := newTree(t, ServerOptions{})
	if _, a, err := c.Mkdir(root, "d", 0o2750, 7, 8); err != nil || a.Mode != unix.S_IFDIR|0o2750 || a.UID != 7 || a.GID != 8 {
		t.Errorf("Mkdir = %+v, %v", a, err)
	}
	if _, _, err := c.Mkdir(root, "d", 0o755, 0, 0); err != linux.EEXIST {
		t.Errorf("Mkdir existing = %v, want EEXIST", err)
	}
	l, la, err := c.Symlink(root, "l", "d/../x", 9, 10)
	if err != nil || la.Mode&unix.S_IFMT != unix.S_IFLNK || la.UID != 9 {
		t.Fatalf("Symlink = %+v, %v", la, err)
	}
	if tgt, err := c.Readlink(l); err != nil || tgt != "d/../x" {
		t.Errorf("Readlink = %q, %v", tgt, err)
	}
	if tgt, _ := os.Readlink(filepath.Join(dir, "l")); tgt != "d/../x" {
		t.Errorf("host link target %q", tgt)
	}
	if _, err := c.Readlink(root); err != linux.EINVAL {
		t.Errorf("Readlink(dir) = %v, want EINVAL", err)
	}
	f, _, fd, err := c.Create(root, "f", unix.O_WRONLY, 0o644, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	unix.Close(fd)
	if a, err := c.Link(root, "f2", f); err != nil || a.Nlink != 2 {
		t.Errorf("Link = nlink %d, %v; want 2", a.Nlink, err)
	}
	if _, _, err := c.Mknod(root, "fifo", unix.S_IFIFO|0o600, 3, 4); err != nil {
		t.Errorf("Mknod(fifo): %v", err)
	}
	var st unix.Stat_t
	if err := unix.Lstat(filepath.Join(dir, "fifo"), &st); err != nil || st.Mode != unix.S_IFIFO|0o600 || st.Uid != 3 {
		t.Errorf("host fifo: mode %o uid %d, %v", st.Mode, st.Uid, err)
	}
	if _, _, err := c.Mknod(root, "chr", unix.S_IFCHR|0o600, 0, 0); err != linux.EPERM {
		t.Errorf("Mknod(chr) = %v, want EPERM", err)
	}
	if _, _, err := c.Mknod(root, "blk", unix.S_IFBLK|0o600, 0, 0); err != linux.EPERM {
		t.Errorf("Mknod(blk) = %v, want EPERM", err)
	}
}

func TestUnlinkRename(t *testing.T) {
	c, root, dir := newTree(t, ServerOptions{})
	writeFile(t, filepath.Join(dir, "src", "file"), "content")
	writeFile(t, filepath.Join(dir, "dst", "victim"), "old")
	src, _ := walkPath(t, c, root, "src")
	dst, _ := walkPath(t, c, root, "dst")
	file, _ := walkPath(t, c, src, "file")
	victim, _ := walkPath(t, c, dst, "victim")

	if err := c.Rename(src, "file", dst, "victim"); err != nil {
		t.Fatalf("Rename: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "dst", "victim")); string(b) != "content" {
		t.Errorf("host after rename: %q", b)
	}
	// The renamed FID follows the file, the replaced one is stale.
	fd, err := c.Open(file, unix.O_RDONLY)
	if err != nil {
		t.Fatalf("Open(renamed): %v", err)
	}
	if got := readFD(t, fd); got != "content" {
		t.Errorf("renamed file reads %q", got)
	}
	if _, err := c.Open(victim, unix.O_RDONLY); err != linux.ESTALE {
		t.Errorf("Open(replaced) = %v, want ESTALE", err)
	}
	if _, pa, err := c.WalkParent(file); err != nil || pa.Mode&unix.S_IFMT != unix.S_IFDIR {
		t.Errorf("WalkParent(renamed) = %v", err)
	}
	if _, _, err := c.Walk(src, "file"); err != linux.ENOENT {
		t.Errorf("Walk(old name) = %v, want ENOENT", err)
	}

	if err := c.Unlink(dst, "victim", 0); err != nil {
		t.Fatalf("Unlink: %v", err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "dst", "victim")); !os.IsNotExist(err) {
		t.Errorf("host file still there: %v", err)
	}
	if _, err := c.Open(file, unix.O_RDONLY); err != linux.ESTALE {
		t.Errorf("Open(unlinked) = %v, want ESTALE", err)
	}
	if err := c.Unlink(root, "src", 0); err != linux.EISDIR {
		t.Errorf("Unlink(dir) = %v, want EISDIR", err)
	}
	if err := c.Unlink(root, "src", unix.AT_REMOVEDIR); err != nil {
		t.Errorf("rmdir: %v", err)
	}
	if err := c.Unlink(root, "dst", 0x1); err != linux.EINVAL {
		t.Errorf("Unlink(bad flags) = %v, want EINVAL", err)
	}
}

func TestSetAttr(t *testing.T) {
	needRoot(t)
	c, root, dir := newTree(t, ServerOptions{})
	writeFile(t, filepath.Join(dir, "f"), "0123456789")
	f, _ := walkPath(t, c, root, "f")
	req := SetAttrRequest{
		Mask: SetMode | SetUID | SetGID | SetSize | SetAtime | SetMtime,
		Mode: 0o600, UID: 11, GID: 12, Size: 3,
		Atime: 1_000_000_123, Mtime: 2_000_000_456,
	}
	if err := c.SetAttr(f, req); err != nil {
		t.Fatalf("SetAttr: %v", err)
	}
	var st unix.Stat_t
	if err := unix.Lstat(filepath.Join(dir, "f"), &st); err != nil {
		t.Fatal(err)
	}
	if st.Mode != unix.S_IFREG|0o600 || st.Uid != 11 || st.Gid != 12 || st.Size != 3 ||
		st.Atim.Nano() != req.Atime || st.Mtim.Nano() != req.Mtime {
		t.Errorf("host after SetAttr: mode %o uid %d gid %d size %d atime %d mtime %d",
			st.Mode, st.Uid, st.Gid, st.Size, st.Atim.Nano(), st.Mtim.Nano())
	}
	// Only the masked fields change.
	if err := c.SetAttr(f, SetAttrRequest{Mask: SetGID, GID: 99, UID: 1, Mode: 0o777}); err != nil {
		t.Fatal(err)
	}
	a, _ := c.Stat(f)
	if a.GID != 99 || a.UID != 11 || a.Mode != unix.S_IFREG|0o600 || a.Mtime != req.Mtime {
		t.Errorf("partial SetAttr changed more: %+v", a)
	}
	if err := c.SetAttr(root, SetAttrRequest{Mask: SetSize}); err != linux.EISDIR {
		t.Errorf("truncate dir = %v, want EISDIR", err)
	}
	if err := c.SetAttr(f, SetAttrRequest{Mask: 1 << 20}); err != linux.EINVAL {
		t.Errorf("unknown mask = %v, want EINVAL", err)
	}
	if err := c.SetAttr(root, SetAttrRequest{Mask: SetMode, Mode: 0o711}); err != nil {
		t.Errorf("chmod dir: %v", err)
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o711 {
		t.Errorf("dir mode %v", fi.Mode())
	}
}

func TestReaddirPages(t *testing.T) {
	c, root, dir := newTree(t, ServerOptions{})
	want := map[string]bool{}
	// ~3000 entries of ~110 bytes each need several 64 KiB pages.
	for i := range 3000 {
		name := fmt.Sprintf("%04d-%s", i, strings.Repeat("x", 100))
		want[name] = true
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	want["sub"] = true
	ents, err := c.Readdir(root)
	if err != nil {
		t.Fatalf("Readdir: %v", err)
	}
	got := map[string]bool{}
	for _, e := range ents {
		if got[e.Name] {
			t.Errorf("duplicate entry %q", e.Name)
		}
		got[e.Name] = true
		wantType := uint8(unix.DT_REG)
		if e.Name == "sub" {
			wantType = unix.DT_DIR
		}
		if e.Type != wantType || e.Ino == 0 {
			t.Errorf("entry %q: type %d ino %d", e.Name, e.Type, e.Ino)
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %d entries, want %d", len(got), len(want))
	}
	for n := range want {
		if !got[n] {
			t.Errorf("missing %q", n)
		}
	}
	sub, _ := walkPath(t, c, root, "sub")
	if ents, err := c.Readdir(sub); err != nil || len(ents) != 0 {
		t.Errorf("Readdir(empty) = %v, %v", ents, err)
	}
	f, _ := walkPath(t, c, root, "0000-"+strings.Repeat("x", 100))
	if _, err := c.Readdir(f); err != linux.ENOTDIR {
		t.Errorf("Readdir(file) = %v, want ENOTDIR", err)
	}
}

func TestStatFSAndRelease(t *testing.T) {
	c, root, dir := newTree(t, ServerOptions{})
	s, err := c.StatFS(root)
	if err != nil {
		t.Fatalf("StatFS: %v", err)
	}
	var host unix.Statfs_t
	if err := unix.Statfs(dir, &host); err != nil {
		t.Fatal(err)
	}
	if s.Type != uint64(host.Type) || s.NameLen != uint64(host.Namelen) || s.Blocks != host.Blocks {
		t.Errorf("StatFS = %+v, host %+v", s, host)
	}
	d, _, err := c.Mkdir(root, "d", 0o755, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Release(d); err != nil {
		t.Fatalf("Release: %v", err)
	}
	if _, err := c.Stat(d); err != linux.EBADF {
		t.Errorf("Stat(released) = %v, want EBADF", err)
	}
	if err := c.Release(d); err != linux.EBADF {
		t.Errorf("double Release = %v, want EBADF", err)
	}
	if _, err := c.Stat(0); err != linux.EBADF {
		t.Errorf("Stat(0) = %v, want EBADF", err)
	}
}

func TestConcurrentClients(t *testing.T) {
	c, root, dir := newTree(t, ServerOptions{})
	for i := range 8 {
		writeFile(t, filepath.Join(dir, fmt.Sprint("d", i), "f"), fmt.Sprint("file", i))
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8*50)
	for i := range 8 {
		wg.Go(func() {
			for range 50 {
				d, _, err := c.Walk(root, fmt.Sprint("d", i))
				if err != nil {
					errs <- err
					return
				}
				f, _, err := c.Walk(d, "f")
				if err != nil {
					errs <- err
					return
				}
				fd, err := c.Open(f, unix.O_RDONLY)
				if err != nil {
					errs <- err
					return
				}
				buf := make([]byte, 16)
				n, _ := unix.Read(fd, buf)
				unix.Close(fd)
				if string(buf[:n]) != fmt.Sprint("file", i) {
					errs <- fmt.Errorf("read %q in d%d", buf[:n], i)
				}
				c.Release(f)
				c.Release(d)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestFileServer(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "resolv.conf"), "nameserver 1.1.1.1\n")
	dfd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := NewFileServer(dfd, "resolv.conf", ServerOptions{})
	if err != nil {
		t.Fatalf("NewFileServer: %v", err)
	}
	c := serve(t, srv)
	root, a, err := c.Attach()
	if err != nil || a.Mode&unix.S_IFMT != unix.S_IFREG {
		t.Fatalf("Attach = %+v, %v", a, err)
	}
	fd, err := c.Open(root, unix.O_RDONLY)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if got := readFD(t, fd); got != "nameserver 1.1.1.1\n" {
		t.Errorf("read %q", got)
	}
	if _, pa, err := c.WalkParent(root); err != nil || pa.Ino != a.Ino {
		t.Errorf("WalkParent(file root) = %+v, %v; want the root itself", pa, err)
	}
	if _, _, err := c.Walk(root, "x"); err != linux.ENOTDIR {
		t.Errorf("Walk(file root) = %v, want ENOTDIR", err)
	}

	if err := os.Symlink("/etc/passwd", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	dfd2, _ := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if _, err := NewFileServer(dfd2, "link", ServerOptions{}); err == nil {
		t.Error("NewFileServer on a symlink succeeded")
	}
}

func TestClientAfterServerGone(t *testing.T) {
	sfd, cfd := socketpair(t)
	c, err := NewClient(cfd)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	unix.Close(sfd)
	if _, _, err := c.Attach(); err != linux.EIO {
		t.Errorf("Attach on dead connection = %v, want EIO", err)
	}
	if c.Err() == nil {
		t.Error("Err() = nil after the connection ended")
	}
}

func TestNewClientRejectsStream(t *testing.T) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[1])
	if _, err := NewClient(fds[0]); err == nil {
		t.Error("NewClient accepted a SOCK_STREAM socket")
	}
	if _, err := NewClient(-1); err == nil {
		t.Error("NewClient accepted fd -1")
	}
}

func countFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// TestNoFDLeak checks that a finished session and a closed server leave no
// host fds behind, whatever FIDs the client kept.
func TestNoFDLeak(t *testing.T) {
	before := countFDs(t)
	t.Run("session", func(t *testing.T) {
		c, root, dir := newTree(t, ServerOptions{})
		writeFile(t, filepath.Join(dir, "a", "b", "c"), "x")
		for range 10 {
			a, _ := walkPath(t, c, root, "a")
			b, _ := walkPath(t, c, a, "b")
			f, _ := walkPath(t, c, b, "c")
			c.WalkParent(f)
			c.Release(a) // b and c keep a's node alive
		}
		if err := c.Rename(root, "a", root, "z"); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Readdir(root); err != nil {
			t.Fatal(err)
		}
	})
	if after := countFDs(t); after != before {
		t.Errorf("%d fds open after the session, %d before", after, before)
	}
}

func TestCloseFailsPendingCalls(t *testing.T) {
	sfd, cfd := socketpair(t)
	defer unix.Close(sfd) // a server that never answers
	c, err := NewClient(cfd)
	if err != nil {
		t.Fatal(err)
	}
	res := make(chan error, 1)
	go func() { _, err := c.Stat(1); res <- err }()
	buf := make([]byte, 64)
	if _, err := unix.Read(sfd, buf); err != nil { // the request arrived
		t.Fatal(err)
	}
	c.Close()
	if err := <-res; err != linux.EIO {
		t.Errorf("pending call after Close = %v, want EIO", err)
	}
}

func TestStatAt(t *testing.T) {
	c, root, dir := newTree(t, ServerOptions{})
	writeFile(t, filepath.Join(dir, "f"), "old")
	if err := os.Symlink("f", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	_, walked := walkPath(t, c, root, "f")
	a, err := c.StatAt(root, "f")
	if err != nil || a.Ino != walked.Ino || a.Size != 3 {
		t.Fatalf("StatAt(f) = %+v, %v; want the walked file's attributes %+v", a, err, walked)
	}
	// Replaced by rename on the host: a new inode under the same name.
	writeFile(t, filepath.Join(dir, "f.new"), "newer")
	if err := os.Rename(filepath.Join(dir, "f.new"), filepath.Join(dir, "f")); err != nil {
		t.Fatal(err)
	}
	if a, err := c.StatAt(root, "f"); err != nil || a.Ino == walked.Ino || a.Size != 5 {
		t.Errorf("after the host's rename, StatAt(f) = %+v, %v; want another inode of size 5", a, err)
	}
	if a, err := c.StatAt(root, "link"); err != nil || a.Mode&unix.S_IFMT != unix.S_IFLNK {
		t.Errorf("StatAt(link) = %+v, %v; want the symlink itself", a, err)
	}
	for _, bad := range []string{"..", "a/b", ""} {
		if _, err := c.StatAt(root, bad); err != linux.EINVAL {
			t.Errorf("StatAt(%q) = %v, want EINVAL", bad, err)
		}
	}
	if _, err := c.StatAt(root, "missing"); err != linux.ENOENT {
		t.Errorf("StatAt(missing) = %v, want ENOENT", err)
	}
}
