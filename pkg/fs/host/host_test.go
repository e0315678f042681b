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
	"bulwark.dev/pkg/vfs/vfstest"
)

func hostPipe(t *testing.T) (int, int) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	return p[0], p[1]
}

func TestHostPipeReadAndInterrupt(t *testing.T) {
	r, w := hostPipe(t)
	defer unix.Close(w)
	f, err := host.NewFile(r)
	if err != nil {
		t.Fatal(err)
	}
	defer f.DecRef()
	ctx := vfstest.NewContext()
	go func() {
		time.Sleep(20 * time.Millisecond)
		unix.Write(w, []byte("hey"))
	}()
	buf := make([]byte, 10)
	n, err := f.Read(ctx, buf)
	if err != nil || string(buf[:n]) != "hey" {
		t.Fatalf("read %q %v", buf[:n], err)
	}
	go func() {
		time.Sleep(20 * time.Millisecond)
		ctx.Interrupt()
	}()
	if _, err := f.Read(ctx, buf); !errors.Is(err, linux.ERESTARTSYS) {
		t.Fatalf("interrupted read: %v", err)
	}
	// The fd still works after an interruption.
	unix.Write(w, []byte("again"))
	ctx2 := vfstest.NewContext()
	if n, err := f.Read(ctx2, buf); err != nil || string(buf[:n]) != "again" {
		t.Fatalf("read after interrupt %q %v", buf[:n], err)
	}
	if _, err := f.Seek(ctx2, 0, linux.SEEK_SET); !errors.Is(err, linux.ESPIPE) {
		t.Fatalf("seek: %v", err)
	}
	if _, err := f.Ioctl(ctx2, linux.TCGETS, 0); !errors.Is(err, linux.ENOTTY) {
		t.Fatalf("TCGETS on a pipe: %v", err)
	}
}

func TestHostPipeWrite(t *testing.T) {
	r, w := hostPipe(t)
	defer unix.Close(r)
	f, err := host.NewFile(w)
	if err != nil {
		t.Fatal(err)
	}
	ctx := vfstest.NewContext()
	if n, err := f.Write(ctx, []byte("out")); n != 3 || err != nil {
		t.Fatalf("write %d %v", n, err)
	}
	f.DecRef()
	buf := make([]byte, 10)
	n, _ := unix.Read(r, buf)
	if string(buf[:n]) != "out" {
		t.Fatalf("host read %q", buf[:n])
	}
}

func TestHostRegularFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	os.WriteFile(p, []byte("0123456789"), 0o644)
	fd, err := unix.Open(p, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	f, err := host.NewFile(fd)
	if err != nil {
		t.Fatal(err)
	}
	defer f.DecRef()
	ctx := vfstest.NewContext()
	buf := make([]byte, 4)
	f.Read(ctx, buf)
	n, _ := f.Read(ctx, buf)
	if string(buf[:n]) != "4567" {
		t.Fatalf("second read %q", buf[:n])
	}
	if off, err := f.Seek(ctx, -2, linux.SEEK_END); err != nil || off != 8 {
		t.Fatalf("seek %d %v", off, err)
	}
	st, err := f.Stat(ctx)
	if err != nil || st.Size != 10 || st.Mode&linux.S_IFMT != linux.S_IFREG {
		t.Fatalf("stat %+v %v", st, err)
	}
}
