package devpts

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/fs/host"
	"bulwark.dev/pkg/kernel/auth"
	"bulwark.dev/pkg/vfs"
	"bulwark.dev/pkg/vfs/vfstest"
)

// mount returns a namespace whose root is a devpts showing terms.
func mount(t *testing.T, terms *Terminals) *vfs.FSContext {
	t.Helper()
	fs, err := New(0o666, terms)
	if err != nil {
		t.Fatal(err)
	}
	ns, err := vfs.NewMountNamespace(fs, vfs.MountOptions{})
	if err != nil {
		t.Fatalf("NewMountNamespace: %v", err)
	}
	fsc, err := ns.NewFSContext("/", 0o22)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fsc.Release)
	return fsc
}

func TestNameAndMagic(t *testing.T) {
	fs, err := New(0o666, nil)
	if err != nil {
		t.Fatal(err)
	}
	if fs.Name() != "devpts" {
		t.Errorf("Name() = %q", fs.Name())
	}
	ctx := vfs.BackgroundContext(auth.NewRootCredentials())
	st, err := fs.StatFS(ctx)
	if err != nil || st.Type != Magic {
		t.Errorf("StatFS = %+v, %v; want type %#x", st, err, Magic)
	}
	fsc := mount(t, nil)
	a, err := vfs.StatAt(ctx, fsc, nil, "/ptmx", 0)
	if err != nil || a.Mode != linux.S_IFCHR|0o666 || a.RdevMajor != 5 || a.RdevMinor != 2 {
		t.Errorf("ptmx: %+v, %v", a, err)
	}
	if _, err := vfs.StatAt(ctx, fsc, nil, "/0", 0); !errors.Is(err, linux.ENOENT) {
		t.Errorf("stat /0 without terminals: %v, want ENOENT", err)
	}
}

// openPTY returns a new host pty's master and slave.
func openPTY(t *testing.T) (int, int) {
	t.Helper()
	m, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Skipf("no ptys: %v", err)
	}
	if err := unix.IoctlSetPointerInt(m, unix.TIOCSPTLCK, 0); err != nil {
		unix.Close(m)
		t.Fatal(err)
	}
	s, err := unix.IoctlRetInt(m, unix.TIOCGPTPEER)
	if err != nil {
		unix.Close(m)
		t.Skipf("TIOCGPTPEER: %v", err)
	}
	t.Cleanup(func() { unix.Close(s) })
	return m, s
}

func dup(t *testing.T, fd int) int {
	t.Helper()
	d, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// A host pty slave shown in devpts is /dev/pts/N as ttyname(3) wants it:
// its host file is named by that path and stats like it, opening the path
// gives the same terminal (what the master writes is read there), and the
// entry goes away when the master is closed.
func TestHostTerminal(t *testing.T) {
	m, s := openPTY(t)
	masterOpen := true
	defer func() {
		if masterOpen {
			unix.Close(m)
		}
	}()
	n, err := unix.IoctlGetUint32(m, unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	terms := NewTerminals()
	got, err := terms.Add(dup(t, s))
	if err != nil || got != n {
		t.Fatalf("Add = %d, %v; want %d", got, err, n)
	}
	fsc := mount(t, terms)
	ctx := vfstest.NewContext()

	f, err := host.NewFile(dup(t, s))
	if err != nil {
		t.Fatal(err)
	}
	defer f.DecRef()
	name := fmt.Sprintf("/dev/pts/%d", n)
	if f.LinkName() != name {
		t.Errorf("LinkName() = %q, want %q", f.LinkName(), name)
	}
	fst, err := f.Stat(ctx)
	if err != nil {
		t.Fatal(err)
	}
	path := fmt.Sprintf("/%d", n)
	pst, err := vfs.StatAt(ctx, fsc, nil, path, 0)
	if err != nil {
		t.Fatalf("stat %s: %v", path, err)
	}
	var hst unix.Stat_t
	if err := unix.Fstat(s, &hst); err != nil {
		t.Fatal(err)
	}
	if pst.Mode&linux.S_IFMT != linux.S_IFCHR ||
		pst.RdevMajor != unix.Major(hst.Rdev) || pst.RdevMinor != unix.Minor(hst.Rdev) ||
		pst.RdevMajor != fst.RdevMajor || pst.RdevMinor != fst.RdevMinor ||
		pst.DevMajor != fst.DevMajor || pst.DevMinor != fst.DevMinor || pst.Ino != fst.Ino {
		t.Errorf("stat %s = %+v; fstat of the host file = %+v (host rdev %d:%d)",
			path, pst, fst, unix.Major(hst.Rdev), unix.Minor(hst.Rdev))
	}

	pf, err := vfs.OpenAt(ctx, fsc, nil, path, linux.O_RDWR, 0)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer pf.DecRef()
	type terminal interface{ Terminal() (uint64, bool) }
	id, ok := pf.Impl().(terminal).Terminal()
	fid, _ := f.Impl().(terminal).Terminal()
	if !ok || id != fid {
		t.Errorf("Terminal() through the path = %#x, %v; the host file's = %#x", id, ok, fid)
	}
	if _, err := unix.Write(m, []byte("hello\n")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	if k, err := pf.Read(ctx, buf); err != nil || string(buf[:k]) != "hello\n" {
		t.Errorf("read through %s = %q, %v; want %q", path, buf[:k], err, "hello\n")
	}

	unix.Close(m)
	masterOpen = false
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := vfs.StatAt(ctx, fsc, nil, path, 0)
		if errors.Is(err, linux.ENOENT) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("stat %s after the hang-up: %v, want ENOENT", path, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Only pty slaves are shown.
func TestAddRefusesOthers(t *testing.T) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(p[1])
	if _, err := NewTerminals().Add(p[0]); err == nil {
		t.Error("Add of a pipe succeeded")
	}
}
