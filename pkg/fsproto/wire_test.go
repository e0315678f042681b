package fsproto

import (
	"bytes"
	"testing"

	"bulwark.dev/pkg/abi/linux"
	"golang.org/x/sys/unix"
)

func TestAttrRoundTrip(t *testing.T) {
	a := Attr{Mode: 0o100644, UID: 1, GID: 2, Nlink: 3, Size: 4, Blocks: 5, BlkSize: 6, Ino: 7, Dev: 8,
		Rdev: 9, Atime: -10, Mtime: 11, Ctime: 1 << 62}
	e := newEncoder()
	e.attr(a)
	e.str("name")
	msg := e.finish(42, tStat, 0)
	h, body, ok := parseHeader(msg)
	if !ok || h.Tag != 42 || h.Type != tStat || h.Len != uint32(len(msg)) {
		t.Fatalf("header %+v ok %v", h, ok)
	}
	d := &decoder{b: body}
	if got := d.attr(); got != a {
		t.Errorf("attr = %+v, want %+v", got, a)
	}
	if s := d.str(); s != "name" || !d.done() {
		t.Errorf("str = %q, done %v", s, d.done())
	}
}

func TestDecoderShort(t *testing.T) {
	d := &decoder{b: []byte{1, 2, 3}}
	if d.u64() != 0 || !d.bad || d.done() {
		t.Error("short u64 not detected")
	}
	d = &decoder{b: []byte{5, 0, 'a'}}
	if d.str(); !d.bad {
		t.Error("short string not detected")
	}
	if _, _, ok := parseHeader([]byte{1, 2}); ok {
		t.Error("short header accepted")
	}
	msg := newEncoder().finish(1, tAttach, 0)
	if _, _, ok := parseHeader(append(msg, 0)); ok {
		t.Error("length mismatch accepted")
	}
}

// rawCall sends msg on a raw connection and returns the reply header.
func rawCall(t *testing.T, fd int, msg []byte) (header, []byte) {
	t.Helper()
	if _, err := unix.Write(fd, msg); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, MaxMessage)
	n, err := unix.Read(fd, buf)
	if err != nil {
		t.Fatal(err)
	}
	h, body, ok := parseHeader(buf[:n])
	if !ok {
		t.Fatalf("bad reply header % x", buf[:n])
	}
	return h, body
}

func TestServerRejectsBadRequests(t *testing.T) {
	fd, err := unix.Open(t.TempDir(), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := NewServer(fd, ServerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	sfd, cfd := socketpair(t)
	defer unix.Close(cfd)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(sfd) }()

	if h, _ := rawCall(t, cfd, newEncoder().finish(7, 999, 0)); h.Errno != linux.ENOSYS || h.Tag != 7 {
		t.Errorf("unknown type: %+v", h)
	}
	e := newEncoder()
	e.u32(1) // a walk needs a FID and a name
	if h, _ := rawCall(t, cfd, e.finish(8, tWalk, 0)); h.Errno != linux.EINVAL || h.Tag != 8 {
		t.Errorf("short walk: %+v", h)
	}
	e = newEncoder()
	e.fid(12345)
	e.str("x")
	if h, _ := rawCall(t, cfd, e.finish(9, tWalk, 0)); h.Errno != linux.EBADF {
		t.Errorf("walk of unknown FID: %+v", h)
	}
	e = newEncoder()
	e.u8(1) // trailing garbage
	if h, _ := rawCall(t, cfd, e.finish(10, tAttach, 0)); h.Errno != linux.EINVAL {
		t.Errorf("attach with garbage: %+v", h)
	}
	// A broken header ends the connection.
	if _, err := unix.Write(cfd, bytes.Repeat([]byte{0xff}, 20)); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err == nil {
		t.Error("Serve accepted a malformed header")
	}
}
