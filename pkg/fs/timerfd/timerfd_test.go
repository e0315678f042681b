package timerfd_test

import (
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/fs/timerfd"
	"bulwark.dev/pkg/vfs"
	"bulwark.dev/pkg/vfs/vfstest"
)

var boot = time.Now()

func monotonic() time.Duration { return time.Since(boot) }

func newFile(t *testing.T, flags uint32) (*vfs.File, *timerfd.TimerFD) {
	t.Helper()
	f, err := timerfd.NewFile(vfstest.NewContext(), linux.CLOCK_MONOTONIC, monotonic, flags)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.DecRef)
	tf, ok := timerfd.FromFile(f)
	if !ok {
		t.Fatal("FromFile failed")
	}
	return f, tf
}

func read(ctx vfs.Context, f *vfs.File) (uint64, error) {
	b := make([]byte, 8)
	_, err := f.Read(ctx, b)
	return binary.LittleEndian.Uint64(b), err
}

func TestPeriodicCount(t *testing.T) {
	ctx := vfstest.NewContext()
	f, tf := newFile(t, linux.TFD_NONBLOCK)
	if _, err := read(ctx, f); !errors.Is(err, linux.EAGAIN) {
		t.Fatalf("disarmed read: %v", err)
	}
	tf.Set(false, 10*time.Millisecond, 10*time.Millisecond)
	if v, i := tf.Get(); v <= 0 || v > 10*time.Millisecond || i != 10*time.Millisecond {
		t.Errorf("gettime = %v, %v", v, i)
	}
	time.Sleep(55 * time.Millisecond)
	if r := tf.Readiness(linux.POLLIN); r != linux.POLLIN {
		t.Errorf("readiness %#x after expiry", r)
	}
	n, err := read(ctx, f)
	if err != nil || n < 4 || n > 6 {
		t.Errorf("count after 55ms of a 10ms timer = %d, %v", n, err)
	}
	if r := tf.Readiness(linux.POLLIN); r != 0 {
		t.Errorf("readiness %#x after the read", r)
	}
	oldValue, oldInterval := tf.Set(false, 0, 0)
	if oldValue <= 0 || oldInterval != 10*time.Millisecond {
		t.Errorf("old setting %v, %v", oldValue, oldInterval)
	}
	if v, i := tf.Get(); v != 0 || i != 0 {
		t.Errorf("disarmed gettime = %v, %v", v, i)
	}
	if _, err := f.Read(ctx, make([]byte, 7)); !errors.Is(err, linux.EINVAL) {
		t.Errorf("short read: %v", err)
	}
}

func TestAbsoluteBlockingRead(t *testing.T) {
	ctx := vfstest.NewContext()
	f, tf := newFile(t, 0)
	start := time.Now()
	tf.Set(true, monotonic()+20*time.Millisecond, 0)
	n, err := read(ctx, f)
	if err != nil || n != 1 {
		t.Fatalf("read = %d, %v", n, err)
	}
	if d := time.Since(start); d < 15*time.Millisecond {
		t.Errorf("expired after %v", d)
	}
	// A time in the past expires at once.
	tf.Set(true, time.Nanosecond, 0)
	if n, err := read(ctx, f); err != nil || n != 1 {
		t.Errorf("past absolute time: %d, %v", n, err)
	}
	if _, err := timerfd.NewFile(ctx, linux.CLOCK_MONOTONIC, monotonic, 1); !errors.Is(err, linux.EINVAL) {
		t.Errorf("bad flags: %v", err)
	}
}
