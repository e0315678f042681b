package pipe_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/fs/pipe"
	"bulwark.dev/pkg/vfs"
	"bulwark.dev/pkg/vfs/vfstest"
)

func TestReadWriteEOF(t *testing.T) {
	ctx := vfstest.NewContext()
	r, w := pipe.NewPair(ctx, 0)
	if _, err := w.Write(ctx, []byte("a b c\n")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 100)
	n, err := r.Read(ctx, buf)
	if err != nil || string(buf[:n]) != "a b c\n" {
		t.Fatalf("read %q %v", buf[:n], err)
	}
	w.DecRef()
	if n, err := r.Read(ctx, buf); n != 0 || err != nil {
		t.Fatalf("EOF read = %d, %v", n, err)
	}
	r.DecRef()
	if !bytes.HasPrefix([]byte(r.PathName()), []byte("pipe:[")) {
		t.Fatalf("name %q", r.PathName())
	}
	if _, err := r.Seek(ctx, 0, linux.SEEK_SET); !errors.Is(err, linux.ESPIPE) {
		t.Fatalf("seek: %v", err)
	}
}

func TestBlockingReadWakesOnWrite(t *testing.T) {
	ctx := vfstest.NewContext()
	r, w := pipe.NewPair(ctx, 0)
	got := make(chan string)
	go func() {
		buf := make([]byte, 10)
		n, _ := r.Read(ctx, buf)
		got <- string(buf[:n])
	}()
	time.Sleep(20 * time.Millisecond)
	w.Write(ctx, []byte("hi"))
	select {
	case s := <-got:
		if s != "hi" {
			t.Fatalf("got %q", s)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("reader not woken")
	}
}

func TestInterruptedRead(t *testing.T) {
	ctx := vfstest.NewContext()
	r, _ := pipe.NewPair(ctx, 0)
	errc := make(chan error)
	go func() {
		_, err := r.Read(ctx, make([]byte, 1))
		errc <- err
	}()
	time.Sleep(20 * time.Millisecond)
	ctx.Interrupt()
	if err := <-errc; !errors.Is(err, linux.ERESTARTSYS) {
		t.Fatalf("got %v", err)
	}
}

func TestNonblockAndEPIPE(t *testing.T) {
	ctx := vfstest.NewContext()
	r, w := pipe.NewPair(ctx, linux.O_NONBLOCK)
	if _, err := r.Read(ctx, make([]byte, 1)); !errors.Is(err, linux.EAGAIN) {
		t.Fatalf("empty nonblocking read: %v", err)
	}
	big := make([]byte, pipe.Capacity+100)
	n, err := w.Write(ctx, big)
	if err != nil || n != pipe.Capacity {
		t.Fatalf("fill: %d %v", n, err)
	}
	if _, err := w.Write(ctx, []byte("x")); !errors.Is(err, linux.EAGAIN) {
		t.Fatalf("full write: %v", err)
	}
	if got := w.Readiness(linux.POLLOUT); got != 0 {
		t.Fatalf("full pipe readiness %#x", got)
	}
	if got := r.Readiness(linux.POLLIN); got&linux.POLLIN == 0 {
		t.Fatalf("read readiness %#x", got)
	}
	r.DecRef()
	if _, err := w.Write(ctx, []byte("x")); !errors.Is(err, linux.EPIPE) {
		t.Fatalf("no readers: %v", err)
	}
}

func TestAtomicSmallWrite(t *testing.T) {
	ctx := vfstest.NewContext()
	r, w := pipe.NewPair(ctx, 0)
	// Leave less room than a small write needs: it must wait, not split.
	w.Write(ctx, make([]byte, pipe.Capacity-10))
	done := make(chan int)
	go func() {
		n, _ := w.Write(ctx, make([]byte, 100))
		done <- n
	}()
	time.Sleep(20 * time.Millisecond)
	select {
	case <-done:
		t.Fatal("small write split into a nearly full pipe")
	default:
	}
	r.Read(ctx, make([]byte, 200))
	if n := <-done; n != 100 {
		t.Fatalf("wrote %d", n)
	}
}

func TestFIFOOpen(t *testing.T) {
	ctx := vfstest.NewContext()
	p := pipe.New()
	if _, err := p.Open(ctx, linux.O_WRONLY|linux.O_NONBLOCK); !errors.Is(err, linux.ENXIO) {
		t.Fatalf("nonblocking writer without reader: %v", err)
	}
	opened := make(chan *pipe.End)
	go func() {
		e, err := p.Open(ctx, linux.O_RDONLY)
		if err != nil {
			t.Error(err)
		}
		opened <- e
	}()
	time.Sleep(20 * time.Millisecond)
	select {
	case <-opened:
		t.Fatal("reader did not wait for a writer")
	default:
	}
	w, err := p.Open(ctx, linux.O_WRONLY)
	if err != nil {
		t.Fatal(err)
	}
	re := <-opened
	in := vfs.NewStaticFile(0o644, nil)
	wf := vfs.NewFile(in, w, linux.O_WRONLY, "fifo")
	rf := vfs.NewFile(in, re, linux.O_RDONLY, "fifo")
	wf.Write(ctx, []byte("z"))
	buf := make([]byte, 4)
	if n, _ := rf.Read(ctx, buf); string(buf[:n]) != "z" {
		t.Fatalf("fifo read %q", buf[:n])
	}
}
