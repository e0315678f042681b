package eventfd_test

import (
	"encoding/binary"
	"errors"
	"math"
	"testing"
	"time"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/fs/eventfd"
	"bulwark.dev/pkg/vfs"
	"bulwark.dev/pkg/vfs/vfstest"
)

func newFD(t *testing.T, ctx vfs.Context, init uint64, flags uint32) *vfs.File {
	t.Helper()
	f, err := eventfd.NewFile(ctx, init, flags)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.DecRef)
	return f
}

func read(ctx vfs.Context, f *vfs.File) (uint64, error) {
	b := make([]byte, 8)
	n, err := f.Read(ctx, b)
	if err == nil && n != 8 {
		return 0, errors.New("short read")
	}
	return binary.LittleEndian.Uint64(b), err
}

func write(ctx vfs.Context, f *vfs.File, v uint64) error {
	b := binary.LittleEndian.AppendUint64(nil, v)
	n, err := f.Write(ctx, b)
	if err == nil && n != 8 {
		return errors.New("short write")
	}
	return err
}

func TestCounter(t *testing.T) {
	ctx := vfstest.NewContext()
	f := newFD(t, ctx, 5, linux.EFD_NONBLOCK)
	if err := write(ctx, f, 3); err != nil {
		t.Fatal(err)
	}
	if v, err := read(ctx, f); v != 8 || err != nil {
		t.Fatalf("read = %d, %v", v, err)
	}
	if _, err := read(ctx, f); !errors.Is(err, linux.EAGAIN) {
		t.Fatalf("empty nonblocking read: %v", err)
	}
	if _, err := f.Read(ctx, make([]byte, 7)); !errors.Is(err, linux.EINVAL) {
		t.Fatalf("short buffer read: %v", err)
	}
	if _, err := f.Write(ctx, make([]byte, 4)); !errors.Is(err, linux.EINVAL) {
		t.Fatalf("short buffer write: %v", err)
	}
	if err := write(ctx, f, math.MaxUint64); !errors.Is(err, linux.EINVAL) {
		t.Fatalf("write of 2^64-1: %v", err)
	}
}

func TestSemaphore(t *testing.T) {
	ctx := vfstest.NewContext()
	f := newFD(t, ctx, 2, linux.EFD_SEMAPHORE|linux.EFD_NONBLOCK)
	for i := 0; i < 2; i++ {
		if v, err := read(ctx, f); v != 1 || err != nil {
			t.Fatalf("read %d = %d, %v", i, v, err)
		}
	}
	if _, err := read(ctx, f); !errors.Is(err, linux.EAGAIN) {
		t.Fatalf("third read: %v", err)
	}
}

func TestOverflow(t *testing.T) {
	ctx := vfstest.NewContext()
	f := newFD(t, ctx, 0, linux.EFD_NONBLOCK)
	if err := write(ctx, f, math.MaxUint64-1); err != nil {
		t.Fatal(err)
	}
	if got := f.Readiness(linux.POLLIN | linux.POLLOUT); got != linux.POLLIN {
		t.Fatalf("full counter readiness %#x", got)
	}
	if err := write(ctx, f, 1); !errors.Is(err, linux.EAGAIN) {
		t.Fatalf("overflowing write: %v", err)
	}
	if err := write(ctx, f, 0); err != nil {
		t.Fatalf("write of 0: %v", err)
	}
}

func TestBlockingReadAndWrite(t *testing.T) {
	ctx := vfstest.NewContext()
	f := newFD(t, ctx, 0, 0)
	go func() {
		time.Sleep(20 * time.Millisecond)
		write(ctx, f, 42)
	}()
	// The write goes through the same File while the read blocks: the
	// read must not hold the file's position lock.
	if v, err := read(ctx, f); v != 42 || err != nil {
		t.Fatalf("read = %d, %v", v, err)
	}
	if err := write(ctx, f, math.MaxUint64-1); err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(20 * time.Millisecond)
		read(ctx, f)
	}()
	if err := write(ctx, f, 7); err != nil {
		t.Fatalf("blocked write: %v", err)
	}
	if v := mustFrom(t, f).Count(); v != 7 {
		t.Fatalf("count %d", v)
	}
}

func mustFrom(t *testing.T, f *vfs.File) *eventfd.EventFD {
	e, ok := eventfd.FromFile(f)
	if !ok {
		t.Fatal("not an eventfd")
	}
	return e
}

func TestInterruptedRead(t *testing.T) {
	ctx := vfstest.NewContext()
	f := newFD(t, ctx, 0, 0)
	ctx.Interrupt()
	if _, err := read(ctx, f); !errors.Is(err, linux.ERESTARTSYS) {
		t.Fatalf("read: %v", err)
	}
}

func TestReadinessAndNotify(t *testing.T) {
	ctx := vfstest.NewContext()
	f := newFD(t, ctx, 0, linux.EFD_NONBLOCK)
	if got := f.Readiness(linux.POLLIN | linux.POLLOUT); got != linux.POLLOUT {
		t.Fatalf("empty readiness %#x", got)
	}
	ch := f.Notify()
	write(ctx, f, 1)
	select {
	case <-ch:
	default:
		t.Fatal("write did not notify")
	}
	if got := f.Readiness(linux.POLLIN); got != linux.POLLIN {
		t.Fatalf("readiness %#x", got)
	}
}

func TestFileShape(t *testing.T) {
	ctx := vfstest.NewContext()
	f := newFD(t, ctx, 0, linux.EFD_NONBLOCK)
	if f.PathName() != "anon_inode:[eventfd]" {
		t.Fatalf("name %q", f.PathName())
	}
	if fl := f.StatusFlags(); fl != linux.O_RDWR|linux.O_NONBLOCK {
		t.Fatalf("flags %#x", fl)
	}
	if _, err := f.PRead(ctx, make([]byte, 8), 0); !errors.Is(err, linux.ESPIPE) {
		t.Fatalf("pread: %v", err)
	}
	if _, err := eventfd.NewFile(ctx, 0, 0x10); !errors.Is(err, linux.EINVAL) {
		t.Fatalf("bad flags: %v", err)
	}
}
