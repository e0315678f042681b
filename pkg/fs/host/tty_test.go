package host_test

import (
	"errors"
	"testing"

	"golang.org/x/sys/unix"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/vfs/vfstest"
)

// terminalFile is kernel.TerminalFile (not imported: the host package
// does not depend on the kernel).
type terminalFile interface{ Terminal() (uint64, bool) }

// A tty is a terminal named by its host device number (so every fd of it
// is the same terminal); a pipe is none.
func TestTerminalID(t *testing.T) {
	_, s := openPTY(t)
	var st unix.Stat_t
	if err := unix.Fstat(s, &st); err != nil {
		t.Fatal(err)
	}
	dup, _ := unix.Dup(s)
	id, ok := newFile(t, dup).Impl().(terminalFile).Terminal()
	if !ok || id != st.Rdev {
		t.Errorf("Terminal() = %#x, %v; want %#x", id, ok, st.Rdev)
	}
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(p[1])
	if _, ok := newFile(t, p[0]).Impl().(terminalFile).Terminal(); ok {
		t.Error("a pipe claims to be a terminal")
	}
}

// The job-control requests are the sandbox kernel's: the host file does
// not forward them to the host's tty.
func TestJobControlIoctlsNotForwarded(t *testing.T) {
	_, s := openPTY(t)
	dup, _ := unix.Dup(s)
	f := newFile(t, dup)
	ctx := &memCtx{Context: vfstest.NewContext(), mem: make([]byte, 8)}
	for _, cmd := range []uint32{linux.TIOCGPGRP, linux.TIOCSPGRP, linux.TIOCSCTTY} {
		if _, err := f.Ioctl(ctx, cmd, 0); !errors.Is(err, linux.ENOTTY) {
			t.Errorf("ioctl %#x: %v, want ENOTTY from the host file", cmd, err)
		}
	}
}

// ttyCtx is a context whose kernel stops background readers.
type ttyCtx struct {
	*vfstest.Context
	id  uint64
	sig int
}

func (c *ttyCtx) TerminalAccess(id uint64, sig int) error {
	c.id, c.sig = id, sig
	return linux.ERESTARTSYS
}

func TestBackgroundReadAsksTheKernel(t *testing.T) {
	m, s := openPTY(t)
	dup, _ := unix.Dup(s)
	f := newFile(t, dup)
	unix.Write(m, []byte("x\n"))
	ctx := &ttyCtx{Context: vfstest.NewContext()}
	if _, err := f.Read(ctx, make([]byte, 4)); !errors.Is(err, linux.ERESTARTSYS) {
		t.Fatalf("read: %v, want the kernel's ERESTARTSYS", err)
	}
	var st unix.Stat_t
	unix.Fstat(s, &st)
	if ctx.sig != linux.SIGTTIN || ctx.id != st.Rdev {
		t.Errorf("asked about signal %d on terminal %#x; want SIGTTIN on %#x", ctx.sig, ctx.id, st.Rdev)
	}
}
