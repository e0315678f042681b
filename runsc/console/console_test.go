package console

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// unixPair returns a connected pair of unix stream sockets.
func unixPair(t *testing.T) (*net.UnixConn, *net.UnixConn) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	conns := make([]*net.UnixConn, 2)
	for i, fd := range fds {
		f := os.NewFile(uintptr(fd), "pair")
		c, err := net.FileConn(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		conns[i] = c.(*net.UnixConn)
		t.Cleanup(func() { c.Close() })
	}
	return conns[0], conns[1]
}

// samePty checks master and slave are one pty: bytes written to the
// master are read from the slave.
func samePty(t *testing.T, master, slave *os.File) {
	t.Helper()
	if _, err := master.Write([]byte("ping\n")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	n, err := slave.Read(buf)
	if err != nil || !bytes.HasPrefix(buf[:n], []byte("ping")) {
		t.Fatalf("slave read %q, %v", buf[:n], err)
	}
}

func TestSendReceiveMasterOverSocketpair(t *testing.T) {
	master, slave, err := NewPty()
	if err != nil {
		t.Skipf("no ptys: %v", err)
	}
	defer master.Close()
	defer slave.Close()
	a, b := unixPair(t)
	if err := sendMaster(a, master); err != nil {
		t.Fatalf("sendMaster: %v", err)
	}
	got, err := ReceiveMaster(b)
	if err != nil {
		t.Fatalf("ReceiveMaster: %v", err)
	}
	defer got.Close()
	if got.Name() != "/dev/ptmx" {
		t.Errorf("name %q, want /dev/ptmx as runc sends", got.Name())
	}
	if got.Fd() == master.Fd() {
		t.Fatal("received the sender's own fd number")
	}
	samePty(t, got, slave)
}

func TestSendMasterToSocketPath(t *testing.T) {
	master, slave, err := NewPty()
	if err != nil {
		t.Skipf("no ptys: %v", err)
	}
	defer master.Close()
	defer slave.Close()
	path := filepath.Join(t.TempDir(), "console.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type res struct {
		f   *os.File
		err error
	}
	ch := make(chan res, 1)
	go func() {
		c, err := ln.AcceptUnix()
		if err != nil {
			ch <- res{nil, err}
			return
		}
		defer c.Close()
		f, err := ReceiveMaster(c)
		ch <- res{f, err}
	}()
	if err := SendMaster(path, master); err != nil {
		t.Fatalf("SendMaster: %v", err)
	}
	r := <-ch
	if r.err != nil {
		t.Fatal(r.err)
	}
	defer r.f.Close()
	samePty(t, r.f, slave)

	if err := SendMaster(filepath.Join(t.TempDir(), "missing"), master); err == nil {
		t.Error("SendMaster to a missing socket succeeded")
	}
}

func TestReceiveMasterWithoutFD(t *testing.T) {
	a, b := unixPair(t)
	if _, err := a.Write([]byte("no fd")); err != nil {
		t.Fatal(err)
	}
	if f, err := ReceiveMaster(b); err == nil {
		f.Close()
		t.Fatal("a message without an fd was accepted")
	}
}

// The relay puts the caller's terminal in raw mode, passes bytes both
// ways and the window size on, and Close restores the terminal.
func TestRelay(t *testing.T) {
	outerM, outerS, err := NewPty()
	if err != nil {
		t.Skipf("no ptys: %v", err)
	}
	defer outerM.Close()
	defer outerS.Close()
	if err := unix.IoctlSetWinsize(int(outerS.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 21, Col: 77}); err != nil {
		t.Fatal(err)
	}
	before, err := unix.IoctlGetTermios(int(outerS.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	r, inner, err := Attach(outerS, outerS)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := unix.IoctlGetTermios(int(outerS.Fd()), unix.TCGETS)
	if raw.Lflag&(unix.ICANON|unix.ECHO|unix.ISIG) != 0 {
		t.Errorf("caller's terminal not raw: lflag %#x", raw.Lflag)
	}
	if ws, err := unix.IoctlGetWinsize(int(inner.Fd()), unix.TIOCGWINSZ); err != nil || ws.Row != 21 || ws.Col != 77 {
		t.Errorf("container's window size %+v %v, want 21x77", ws, err)
	}
	// Typed on the caller's terminal: reaches the container's.
	outerM.Write([]byte("abc\n"))
	buf := make([]byte, 64)
	n, err := inner.Read(buf)
	if err != nil || string(buf[:n]) != "abc\n" {
		t.Errorf("container read %q %v", buf[:n], err)
	}
	// Written by the container: reaches the caller's terminal.
	inner.Write([]byte("out"))
	got := readFor(outerM, "out", 5*time.Second)
	if !bytes.Contains(got, []byte("out")) {
		t.Errorf("caller's terminal got %q", got)
	}
	inner.Close() // the container is gone
	r.Close()
	after, _ := unix.IoctlGetTermios(int(outerS.Fd()), unix.TCGETS)
	if *after != *before {
		t.Errorf("caller's terminal not restored:\nbefore %+v\nafter  %+v", *before, *after)
	}
}

// readFor reads f until want arrives or limit passes (nil then).
func readFor(f *os.File, want string, limit time.Duration) []byte {
	ch := make(chan []byte, 1)
	go func() {
		var out []byte
		buf := make([]byte, 64)
		for !bytes.Contains(out, []byte(want)) {
			n, err := f.Read(buf)
			out = append(out, buf[:n]...)
			if err != nil {
				break
			}
		}
		ch <- out
	}()
	select {
	case out := <-ch:
		return out
	case <-time.After(limit):
		return nil
	}
}
