package host_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/fs/host"
	"bulwark.dev/pkg/vfs"
	"bulwark.dev/pkg/vfs/vfstest"
)

// memCtx is a vfstest.Context whose CopyIn/CopyOut address mem (addr is an index).
type memCtx struct {
	*vfstest.Context
	mem []byte
}

func (c *memCtx) CopyIn(addr uintptr, dst []byte) (int, error) {
	return copy(dst, c.mem[addr:]), nil
}

func (c *memCtx) CopyOut(addr uintptr, src []byte) (int, error) {
	return copy(c.mem[addr:], src), nil
}

func getfl(t *testing.T, fd int) int {
	t.Helper()
	fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err != nil {
		t.Fatal(err)
	}
	return fl
}

func dup(t *testing.T, fd int) int {
	t.Helper()
	d, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func newFile(t *testing.T, fd int) *vfs.File {
	t.Helper()
	f, err := host.NewFile(fd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.DecRef)
	return f
}

func write(t *testing.T, f *vfs.File, s string) {
	t.Helper()
	if n, err := f.Write(vfstest.NewContext(), []byte(s)); n != len(s) || err != nil {
		t.Fatalf("write %q: %d %v", s, n, err)
	}
}

func expectContent(t *testing.T, path, want string) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil || string(got) != want {
		t.Fatalf("%s holds %q (%v), want %q", path, got, err, want)
	}
}

func openFile(t *testing.T, path string, flags int) int {
	t.Helper()
	fd, err := unix.Open(path, flags|unix.O_CLOEXEC, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return fd
}

// Two imported files and an outside writer sharing one description (as
// stdout and stderr redirected to one file, and the shell) share its
// offset: no write overwrites another.
func TestRegularFileSharesHostOffset(t *testing.T) {
	p := filepath.Join(t.TempDir(), "out")
	os.WriteFile(p, []byte("old\n"), 0o644)
	fd := openFile(t, p, unix.O_WRONLY)
	unix.Seek(fd, 0, unix.SEEK_END)
	stdout, stderr := newFile(t, dup(t, fd)), newFile(t, dup(t, fd))
	write(t, stdout, "a\n")
	write(t, stderr, "b\n")
	if _, err := unix.Write(fd, []byte("shell\n")); err != nil {
		t.Fatal(err)
	}
	write(t, stdout, "c\n")
	expectContent(t, p, "old\na\nb\nshell\nc\n")
	if off, _ := unix.Seek(fd, 0, unix.SEEK_CUR); off != 16 {
		t.Errorf("host offset %d, want 16", off)
	}
}

// pread, pwrite and mmap (ReadAt) of an imported regular file use their
// own offsets and leave the shared host offset where it was.
func TestRegularFilePositional(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	os.WriteFile(p, []byte("0123456789"), 0o644)
	fd := openFile(t, p, unix.O_RDWR)
	unix.Seek(fd, 2, unix.SEEK_SET)
	f := newFile(t, dup(t, fd))
	ctx := vfstest.NewContext()
	buf := make([]byte, 3)
	if n, err := f.PRead(ctx, buf, 5); n != 3 || err != nil || string(buf) != "567" {
		t.Fatalf("pread at 5 = %d %v %q, want 3 \"567\"", n, err, buf)
	}
	if n, err := f.PWrite(ctx, []byte("AB"), 8); n != 2 || err != nil {
		t.Fatalf("pwrite at 8 = %d %v", n, err)
	}
	if n, err := f.ReadAt(buf[:2], 0); n != 2 || err != nil || string(buf[:2]) != "01" {
		t.Fatalf("ReadAt 0 = %d %v %q", n, err, buf[:2])
	}
	if off, _ := unix.Seek(fd, 0, unix.SEEK_CUR); off != 2 {
		t.Errorf("host offset moved to %d, want 2", off)
	}
	if n, err := f.Read(ctx, buf); n != 3 || err != nil || string(buf) != "234" {
		t.Errorf("read at the host offset = %d %v %q, want \"234\"", n, err, buf)
	}
	expectContent(t, p, "01234567AB")
}

// With O_APPEND on the host description, writes land at the end even
// when another description wrote there meanwhile.
func TestRegularFileAppend(t *testing.T) {
	p := filepath.Join(t.TempDir(), "log")
	os.WriteFile(p, []byte("xx"), 0o644)
	f := newFile(t, dup(t, openFile(t, p, unix.O_WRONLY|unix.O_APPEND)))
	if f.StatusFlags()&linux.O_APPEND == 0 {
		t.Errorf("F_GETFL %#x lacks O_APPEND", f.StatusFlags())
	}
	other := openFile(t, p, unix.O_WRONLY|unix.O_APPEND)
	unix.Write(other, []byte("yy"))
	write(t, f, "zz")
	unix.Write(other, []byte("ww"))
	write(t, f, "vv")
	expectContent(t, p, "xxyyzzwwvv")
}

// F_SETFL O_APPEND by the application reaches the host description.
func TestRegularFileSetAppend(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	os.WriteFile(p, []byte("12345"), 0o644)
	fd := openFile(t, p, unix.O_WRONLY)
	f := newFile(t, dup(t, fd))
	if err := f.SetStatusFlags(linux.O_APPEND); err != nil {
		t.Fatal(err)
	}
	if getfl(t, fd)&unix.O_APPEND == 0 {
		t.Fatal("O_APPEND did not reach the host description")
	}
	write(t, f, "6")
	expectContent(t, p, "123456")
}

// lseek moves the host offset, and reads follow the host offset moved by
// others. Reopen of a regular file shares the description.
func TestRegularFileSeekIsHostSeek(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	os.WriteFile(p, []byte("0123456789"), 0o644)
	fd := openFile(t, p, unix.O_RDONLY)
	nfd, err := host.Reopen(fd)
	if err != nil {
		t.Fatal(err)
	}
	f := newFile(t, nfd)
	ctx := vfstest.NewContext()
	if off, err := f.Seek(ctx, 3, linux.SEEK_SET); off != 3 || err != nil {
		t.Fatalf("seek: %d %v", off, err)
	}
	if off, _ := unix.Seek(fd, 0, unix.SEEK_CUR); off != 3 {
		t.Fatalf("host offset after lseek: %d, want 3", off)
	}
	buf := make([]byte, 3)
	if n, err := f.Read(ctx, buf); string(buf[:n]) != "345" || err != nil {
		t.Fatalf("read %q %v", buf[:n], err)
	}
	if off, _ := unix.Seek(fd, 0, unix.SEEK_CUR); off != 6 {
		t.Fatalf("host offset after read: %d, want 6", off)
	}
	unix.Seek(fd, 1, unix.SEEK_SET)
	if n, err := f.Read(ctx, buf); string(buf[:n]) != "123" || err != nil {
		t.Fatalf("read after outside seek %q %v", buf[:n], err)
	}
	if off, err := f.Seek(ctx, 0, linux.SEEK_CUR); off != 4 || err != nil {
		t.Fatalf("SEEK_CUR: %d %v", off, err)
	}
}

// readInterruptibly checks f reads what the peer writes, that a blocked
// read is cut short by an interruption, and that f works afterwards.
func readInterruptibly(t *testing.T, f *vfs.File, peer int) {
	t.Helper()
	go func() {
		time.Sleep(20 * time.Millisecond)
		unix.Write(peer, []byte("hey"))
	}()
	buf := make([]byte, 10)
	if n, err := f.Read(vfstest.NewContext(), buf); err != nil || string(buf[:n]) != "hey" {
		t.Fatalf("read %q %v", buf[:n], err)
	}
	ctx := vfstest.NewContext()
	go func() {
		time.Sleep(20 * time.Millisecond)
		ctx.Interrupt()
	}()
	start := time.Now()
	if _, err := f.Read(ctx, buf); !errors.Is(err, linux.ERESTARTSYS) {
		t.Fatalf("interrupted read: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("interruption took %v", d)
	}
	unix.Write(peer, []byte("again"))
	if n, err := f.Read(vfstest.NewContext(), buf); err != nil || string(buf[:n]) != "again" {
		t.Fatalf("read after interruption %q %v", buf[:n], err)
	}
}

// A reopened pipe has its own description: O_NONBLOCK on it leaves the
// caller's flags alone.
func TestReopenPipeKeepsCallerFlags(t *testing.T) {
	r, w := hostPipe(t)
	defer unix.Close(r)
	defer unix.Close(w)
	rBefore, wBefore := getfl(t, r), getfl(t, w)
	nr, err := host.Reopen(r)
	if err != nil {
		t.Fatal(err)
	}
	nw, err := host.Reopen(w)
	if err != nil {
		t.Fatal(err)
	}
	if getfl(t, nr)&unix.O_NONBLOCK == 0 || getfl(t, nr)&unix.O_ACCMODE != unix.O_RDONLY {
		t.Errorf("reopened read end flags %#x", getfl(t, nr))
	}
	if getfl(t, nw)&unix.O_ACCMODE != unix.O_WRONLY {
		t.Errorf("reopened write end flags %#x", getfl(t, nw))
	}
	in, out := newFile(t, nr), newFile(t, nw)
	readInterruptibly(t, in, w)
	write(t, out, "through the reopened end")
	buf := make([]byte, 64)
	if n, _ := unix.Read(r, buf); string(buf[:n]) != "through the reopened end" {
		t.Errorf("caller read %q", buf[:n])
	}
	if got := getfl(t, r); got != rBefore {
		t.Errorf("caller's read end flags %#x, were %#x", got, rBefore)
	}
	if got := getfl(t, w); got != wBefore {
		t.Errorf("caller's write end flags %#x, were %#x", got, wBefore)
	}
}

// A blocking pipe that was not reopened keeps its flags too, and is still
// read interruptibly (poll before read).
func TestBlockingPipeNotReopened(t *testing.T) {
	r, w := hostPipe(t)
	defer unix.Close(w)
	before := getfl(t, r)
	f := newFile(t, dup(t, r))
	readInterruptibly(t, f, w)
	if got := getfl(t, r); got != before {
		t.Errorf("flags %#x, were %#x", got, before)
	}
	unix.Close(r)
}

// A socket stays blocking on the host; reads are interruptible and
// writes reach the peer.
func TestSocketStaysBlocking(t *testing.T) {
	sp, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(sp[0])
	defer unix.Close(sp[1])
	nfd, err := host.Reopen(sp[0])
	if err != nil {
		t.Fatal(err)
	}
	f := newFile(t, nfd)
	readInterruptibly(t, f, sp[1])
	write(t, f, "to the peer")
	buf := make([]byte, 64)
	if n, _ := unix.Read(sp[1], buf); string(buf[:n]) != "to the peer" {
		t.Errorf("peer read %q", buf[:n])
	}
	if getfl(t, sp[0])&unix.O_NONBLOCK != 0 || getfl(t, nfd)&unix.O_NONBLOCK != 0 {
		t.Errorf("socket became non-blocking on the host")
	}
	// A non-blocking application file gets EAGAIN instead of waiting.
	if err := f.SetStatusFlags(linux.O_NONBLOCK); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Read(vfstest.NewContext(), buf); !errors.Is(err, linux.EAGAIN) {
		t.Errorf("non-blocking read: %v", err)
	}
	if _, err := f.Seek(vfstest.NewContext(), 0, linux.SEEK_SET); !errors.Is(err, linux.ESPIPE) {
		t.Errorf("seek: %v", err)
	}
}

// openPTY returns a pty master and its slave, or skips.
func openPTY(t *testing.T) (int, int) {
	m, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Skipf("no ptys: %v", err)
	}
	t.Cleanup(func() { unix.Close(m) })
	if err := unix.IoctlSetPointerInt(m, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	s, err := unix.IoctlRetInt(m, unix.TIOCGPTPEER)
	if err != nil {
		t.Skipf("TIOCGPTPEER: %v", err)
	}
	t.Cleanup(func() { unix.Close(s) })
	return m, s
}

// A reopened tty is the same tty: window size set through it is the
// caller's, input arrives, and the caller's flags do not change.
func TestReopenTTY(t *testing.T) {
	m, s := openPTY(t)
	before := getfl(t, s)
	nfd, err := host.Reopen(s)
	if err != nil {
		t.Fatal(err)
	}
	f := newFile(t, nfd)
	ctx := &memCtx{Context: vfstest.NewContext(), mem: make([]byte, 64)}
	ws := unix.Winsize{Row: 33, Col: 99}
	ctx.mem[0], ctx.mem[2] = byte(ws.Row), byte(ws.Col)
	if _, err := f.Ioctl(ctx, linux.TIOCSWINSZ, 0); err != nil {
		t.Fatalf("TIOCSWINSZ: %v", err)
	}
	got, err := unix.IoctlGetWinsize(s, unix.TIOCGWINSZ)
	if err != nil || got.Row != 33 || got.Col != 99 {
		t.Fatalf("caller's window size %+v %v", got, err)
	}
	unix.Write(m, []byte("line\n"))
	buf := make([]byte, 16)
	if n, err := f.Read(vfstest.NewContext(), buf); err != nil || string(buf[:n]) != "line\n" {
		t.Fatalf("tty read %q %v", buf[:n], err)
	}
	if got := getfl(t, s); got != before {
		t.Errorf("caller's tty flags %#x, were %#x", got, before)
	}
}
