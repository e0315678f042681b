package pipe_test

import (
	"errors"
	"testing"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/fs/pipe"
	"bulwark.dev/pkg/vfs/vfstest"
)

func TestPeekConsumePut(t *testing.T) {
	ctx := vfstest.NewContext()
	r, w := pipe.NewPair(ctx, 0)
	r2, w2 := pipe.NewPair(ctx, 0)
	re, we, we2 := pipe.EndOf(r), pipe.EndOf(w), pipe.EndOf(w2)
	if re == nil || we == nil || false {
		t.Fatal("EndOf")
	}
	if !re.SamePipe(we) || re.SamePipe(we2) {
		t.Fatal("SamePipe")
	}
	if _, err := re.Peek(ctx, 10, true); !errors.Is(err, linux.EAGAIN) {
		t.Fatalf("peek empty nonblocking: %v", err)
	}
	if n, err := we.Put([]byte("hello")); n != 5 || err != nil {
		t.Fatalf("put %d %v", n, err)
	}
	b, err := re.Peek(ctx, 3, false)
	if err != nil || string(b) != "hel" {
		t.Fatalf("peek %q %v", b, err)
	}
	// Peeking does not consume (tee).
	if n, _ := we2.Put(b); n != 3 {
		t.Fatal("put to second pipe")
	}
	re.Consume(2)
	buf := make([]byte, 10)
	n, _ := r.Read(ctx, buf)
	if string(buf[:n]) != "llo" {
		t.Fatalf("after consume %q", buf[:n])
	}
	big := make([]byte, pipe.Capacity+10)
	if n, _ := we.Put(big); n != pipe.Capacity {
		t.Fatalf("put past capacity: %d", n)
	}
	if _, err := we.Room(ctx, true); !errors.Is(err, linux.EAGAIN) {
		t.Fatalf("room on full pipe: %v", err)
	}
	r.DecRef()
	if _, err := we.Room(ctx, false); !errors.Is(err, linux.EPIPE) {
		t.Fatalf("room without readers: %v", err)
	}
	w.DecRef()
	w2.DecRef()
	if b, err := pipe.EndOf(r2).Peek(ctx, 10, false); string(b) != "hel" || err != nil {
		t.Fatalf("second pipe %q %v", b, err)
	}
	r2.DecRef()
}
