package devpts

import (
	"encoding/binary"
	"errors"
	"strconv"
	"testing"
	"time"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/kernel"
	"bulwark.dev/pkg/vfs"
	"bulwark.dev/pkg/vfs/vfstest"
)

// memContext is a test context whose "application memory" is a buffer:
// an address is an offset into mem.
type memContext struct {
	*vfstest.Context
	mem [64]byte
}

func newMemContext() *memContext { return &memContext{Context: vfstest.NewContext()} }

func (c *memContext) CopyIn(addr uintptr, dst []byte) (int, error) {
	return copy(dst, c.mem[addr:]), nil
}

func (c *memContext) CopyOut(addr uintptr, src []byte) (int, error) {
	return copy(c.mem[addr:], src), nil
}

// ioctlU32 runs an ioctl whose argument is a uint32 at address 0.
func ioctlU32(t *testing.T, ctx *memContext, f *vfs.File, cmd uint32, in uint32) (uint32, error) {
	t.Helper()
	binary.LittleEndian.PutUint32(ctx.mem[:], in)
	_, err := f.Impl().(vfs.Ioctler).Ioctl(ctx, f, cmd, 0)
	return binary.LittleEndian.Uint32(ctx.mem[:]), err
}

// newPair opens a pty through fsc's /ptmx, unlocks it and opens its slave.
func newPair(t *testing.T, ctx *memContext, fsc *vfs.FSContext) (m, s *vfs.File, n uint32) {
	t.Helper()
	m, err := vfs.OpenAt(ctx, fsc, nil, "/ptmx", linux.O_RDWR|linux.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open ptmx: %v", err)
	}
	n, err = ioctlU32(t, ctx, m, linux.TIOCGPTN, 0)
	if err != nil {
		t.Fatalf("TIOCGPTN: %v", err)
	}
	path := "/" + strconv.FormatUint(uint64(n), 10)
	if _, err := vfs.OpenAt(ctx, fsc, nil, path, linux.O_RDWR|linux.O_NOCTTY, 0); !errors.Is(err, linux.EIO) {
		t.Errorf("open of a locked slave: %v, want EIO", err)
	}
	if _, err := ioctlU32(t, ctx, m, linux.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("TIOCSPTLCK: %v", err)
	}
	s, err = vfs.OpenAt(ctx, fsc, nil, path, linux.O_RDWR|linux.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	return m, s, n
}

func read(t *testing.T, ctx vfs.Context, f *vfs.File) string {
	t.Helper()
	buf := make([]byte, 256)
	n, err := f.Read(ctx, buf)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return string(buf[:n])
}

func write(t *testing.T, ctx vfs.Context, f *vfs.File, s string) {
	t.Helper()
	if n, err := f.Write(ctx, []byte(s)); n != len(s) || err != nil {
		t.Fatalf("write %q: %d, %v", s, n, err)
	}
}

// A pty end to end: indices, the slave's node, a line each way, readiness
// and the hang-up.
func TestPTY(t *testing.T) {
	ctx := newMemContext()
	fsc := mount(t, nil)
	m, s, n := newPair(t, ctx, fsc)
	m2, s2, n2 := newPair(t, ctx, fsc)
	if n != 0 || n2 != 1 {
		t.Errorf("indices %d, %d; want 0, 1", n, n2)
	}
	a, err := vfs.StatAt(ctx, fsc, nil, "/0", 0)
	if err != nil || a.Mode != linux.S_IFCHR|0o620 || a.GID != ttyGID || a.RdevMajor != 136 || a.RdevMinor != 0 {
		t.Errorf("stat /0 = %+v, %v", a, err)
	}
	if id, ok := s.Impl().(*slaveFile).Terminal(); !ok || id&kernel.LocalTerminal == 0 || kernel.TerminalDevice(id) != vfs.MakeDev(136, 0) {
		t.Errorf("the slave's terminal id %#x, %v", id, ok)
	}

	w := s.Impl().(vfs.Waiter)
	write(t, ctx, m, "hi")
	if w.Readiness(linux.POLLIN) != 0 {
		t.Error("a partial line polls readable")
	}
	ch := w.Notify()
	write(t, ctx, m, "\r")
	select {
	case <-ch:
	default:
		t.Error("a new line did not notify")
	}
	if r := w.Readiness(linux.POLLIN | linux.POLLOUT); r != linux.POLLIN|linux.POLLOUT {
		t.Errorf("slave readiness %#x", r)
	}
	if got := read(t, ctx, s); got != "hi\n" {
		t.Errorf("slave read %q", got)
	}
	if got := read(t, ctx, m); got != "hi\r\n" {
		t.Errorf("master read (echo) %q", got)
	}
	write(t, ctx, s, "out\n")
	if got, _ := ioctlU32(t, ctx, m, linux.FIONREAD, 0); got != 5 {
		t.Errorf("FIONREAD on the master = %d", got)
	}
	if got := read(t, ctx, m); got != "out\r\n" {
		t.Errorf("master read %q", got)
	}

	// The last slave closes: the master reads EIO and polls POLLHUP.
	s.DecRef()
	if _, err := m.Read(ctx, make([]byte, 8)); !errors.Is(err, linux.EIO) {
		t.Errorf("master read without slaves: %v, want EIO", err)
	}
	if r := m.Impl().(vfs.Waiter).Readiness(linux.POLLIN); r&linux.POLLHUP == 0 {
		t.Errorf("master readiness without slaves %#x", r)
	}

	// The master closes: the slave hangs up and the entry goes, but the
	// index stays taken while the slave is open.
	s2w := s2.Impl().(vfs.Waiter)
	m2.DecRef()
	if n, err := s2.Read(ctx, make([]byte, 8)); n != 0 || err != nil {
		t.Errorf("slave read after the hang-up: %d, %v", n, err)
	}
	if _, err := s2.Write(ctx, []byte("x")); !errors.Is(err, linux.EIO) {
		t.Errorf("slave write after the hang-up: %v, want EIO", err)
	}
	if r := s2w.Readiness(linux.POLLIN); r&linux.POLLHUP == 0 {
		t.Errorf("slave readiness after the hang-up %#x", r)
	}
	if _, err := vfs.StatAt(ctx, fsc, nil, "/1", 0); !errors.Is(err, linux.ENOENT) {
		t.Errorf("stat /1 after the hang-up: %v, want ENOENT", err)
	}
	m3, s3, n3 := newPair(t, ctx, fsc)
	if n3 != 2 {
		t.Errorf("index while 1 is held by an open slave: %d, want 2", n3)
	}
	s2.DecRef()
	m4, s4, n4 := newPair(t, ctx, fsc)
	if n4 != 1 {
		t.Errorf("index after both sides of 1 closed: %d, want 1", n4)
	}
	for _, f := range []*vfs.File{m, m3, s3, m4, s4} {
		f.DecRef()
	}
}

// Reads follow VMIN and VTIME; O_NONBLOCK reads fail with EAGAIN; a
// signal interrupts a blocked read.
func TestSlaveReadModes(t *testing.T) {
	ctx := newMemContext()
	m, s, _ := newPair(t, ctx, mount(t, nil))
	defer m.DecRef()
	defer s.DecRef()
	setRaw := func(vmin, vtime byte) {
		p := s.Impl().(*slaveFile).p
		p.mu.Lock()
		tt := p.ld.termios
		tt.LocalFlags &^= linux.ICANON | linux.ECHO
		tt.ControlCharacters[linux.VMIN], tt.ControlCharacters[linux.VTIME] = vmin, vtime
		p.ld.setTermios(tt)
		p.mu.Unlock()
	}

	setRaw(0, 0)
	if got := read(t, ctx, s); got != "" {
		t.Errorf("VMIN 0 VTIME 0 read %q", got)
	}
	setRaw(0, 1)
	start := time.Now()
	if got := read(t, ctx, s); got != "" || time.Since(start) < 90*time.Millisecond {
		t.Errorf("VMIN 0 VTIME 1 read %q after %v", got, time.Since(start))
	}

	setRaw(3, 0)
	done := make(chan string)
	go func() {
		buf := make([]byte, 8)
		n, _ := s.Read(ctx, buf)
		done <- string(buf[:n])
	}()
	write(t, ctx, m, "ab")
	select {
	case got := <-done:
		t.Fatalf("VMIN 3 returned %q after 2 bytes", got)
	case <-time.After(50 * time.Millisecond):
	}
	write(t, ctx, m, "c")
	if got := <-done; got != "abc" {
		t.Errorf("VMIN 3 read %q", got)
	}

	s.SetStatusFlags(linux.O_NONBLOCK)
	if _, err := s.Read(ctx, make([]byte, 8)); !errors.Is(err, linux.EAGAIN) {
		t.Errorf("non-blocking read: %v, want EAGAIN", err)
	}
	s.SetStatusFlags(0)
	go ctx.Interrupt()
	if _, err := s.Read(ctx, make([]byte, 8)); !errors.Is(err, linux.ERESTARTSYS) {
		t.Errorf("interrupted read: %v, want ERESTARTSYS", err)
	}
}

// Window size, termios and TCFLSH through ioctl.
func TestIoctls(t *testing.T) {
	ctx := newMemContext()
	m, s, _ := newPair(t, ctx, mount(t, nil))
	defer m.DecRef()
	defer s.DecRef()
	ioctl := func(f *vfs.File, cmd uint32, arg uintptr) error {
		_, err := f.Impl().(vfs.Ioctler).Ioctl(ctx, f, cmd, arg)
		return err
	}
	binary.LittleEndian.PutUint16(ctx.mem[0:], 24)
	binary.LittleEndian.PutUint16(ctx.mem[2:], 80)
	if err := ioctl(m, linux.TIOCSWINSZ, 0); err != nil {
		t.Fatal(err)
	}
	clear(ctx.mem[:])
	if err := ioctl(s, linux.TIOCGWINSZ, 0); err != nil || binary.LittleEndian.Uint16(ctx.mem[2:]) != 80 {
		t.Errorf("TIOCGWINSZ on the slave: %v, %x", err, ctx.mem[:8])
	}
	if err := ioctl(s, linux.TCGETS, 0); err != nil || decodeTermios(ctx.mem[:linux.SizeofTermios]) != defaultTermios() {
		t.Errorf("TCGETS on the slave: %v, %x", err, ctx.mem[:linux.SizeofTermios])
	}
	if err := ioctl(m, linux.TCGETS, 0); err != nil || decodeTermios(ctx.mem[:linux.SizeofTermios]).LocalFlags != 0 {
		t.Errorf("TCGETS on the master: %v", err)
	}
	write(t, ctx, m, "junk\n")
	if err := ioctl(s, linux.TCFLSH, linux.TCIFLUSH); err != nil {
		t.Fatal(err)
	}
	if got, _ := ioctlU32(t, ctx, s, linux.FIONREAD, 0); got != 0 {
		t.Errorf("FIONREAD after TCFLSH = %d", got)
	}
	if err := ioctl(s, linux.TCFLSH, 7); !errors.Is(err, linux.EINVAL) {
		t.Errorf("TCFLSH 7: %v", err)
	}
	if err := ioctl(s, linux.TIOCGPTN, 0); !errors.Is(err, linux.ENOTTY) {
		t.Errorf("TIOCGPTN on the slave: %v", err)
	}
	peer, err := m.Impl().(*masterFile).OpenPeer(ctx, linux.O_RDWR|linux.O_NOCTTY)
	if err != nil {
		t.Fatalf("OpenPeer: %v", err)
	}
	defer peer.DecRef()
	write(t, ctx, m, "to peer\n")
	if got := read(t, ctx, peer); got != "to peer\n" {
		t.Errorf("peer read %q", got)
	}
}

// /dev/tty needs a caller with a controlling terminal.
func TestOpenTTYWithoutTask(t *testing.T) {
	if _, err := NewTerminals().openTTY(vfstest.NewContext(), linux.O_RDWR); !errors.Is(err, linux.ENXIO) {
		t.Errorf("openTTY: %v, want ENXIO", err)
	}
}

// byID finds a pty by its terminal id.
func TestByID(t *testing.T) {
	ctx := newMemContext()
	terms := NewTerminals()
	fsc := mount(t, terms)
	var ms []*vfs.File
	for range 3 {
		m, err := vfs.OpenAt(ctx, fsc, nil, "/ptmx", linux.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		ms = append(ms, m)
	}
	defer func() {
		for _, m := range ms {
			m.DecRef()
		}
	}()
	p := ms[2].Impl().(*masterFile).p
	if got := terms.byID(p.id); got != p.node {
		t.Errorf("byID(%#x) = %v, want pty 2's node", p.id, got)
	}
	if got := terms.byID(p.id &^ kernel.LocalTerminal); got != nil {
		t.Errorf("byID of a host id = %v, want nil", got)
	}
}
