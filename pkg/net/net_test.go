package net

import (
	"testing"
	"time"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/vfs/vfstest"
)

func TestOptions(t *testing.T) {
	o := NewOptions()
	if v, ok := o.Get(linux.SO_RCVBUF); !ok || string(v) != string(Int32(DefaultBufSize)) {
		t.Errorf("default SO_RCVBUF %x %v", v, ok)
	}
	if ok, err := o.Set(linux.SO_SNDBUFFORCE, Int32(1<<30)); !ok || err != nil {
		t.Fatalf("SO_SNDBUFFORCE: %v %v", ok, err)
	}
	if got := o.Int(linux.SO_SNDBUF); got != 2*MaxBufSize {
		t.Errorf("clamped SO_SNDBUF %d", got)
	}
	if ok, err := o.Set(linux.SO_KEEPALIVE, Int32(3)); !ok || err != nil || !o.Bool(linux.SO_KEEPALIVE) {
		t.Errorf("SO_KEEPALIVE: %v %v", ok, err)
	}
	if ok, _ := o.Set(linux.SO_TYPE, Int32(1)); ok {
		t.Error("Options claims SO_TYPE")
	}
	if _, err := o.Set(linux.SO_LINGER, []byte{1, 2}); err != linux.EINVAL {
		t.Errorf("short SO_LINGER: %v", err)
	}
	if !o.Deadline(linux.SO_RCVTIMEO).IsZero() {
		t.Error("deadline without a timeout")
	}
	tv := make([]byte, 16)
	tv[0] = 2
	o.Set(linux.SO_SNDTIMEO, tv)
	if d := time.Until(o.Deadline(linux.SO_SNDTIMEO)); d < time.Second || d > 2*time.Second {
		t.Errorf("SO_SNDTIMEO deadline in %v", d)
	}
	u := linux.Ucred{PID: 1, UID: 2, GID: 3}
	if got, err := DecodeUcred(EncodeUcred(u)); got != u || err != nil {
		t.Errorf("ucred round trip %+v %v", got, err)
	}
}

func TestStackAndBlock(t *testing.T) {
	s := NewStack()
	ctx := vfstest.NewContext()
	if _, err := s.Family(linux.AF_INET); err != linux.EAFNOSUPPORT {
		t.Errorf("empty stack: %v", err)
	}
	ch := make(chan struct{})
	start := time.Now()
	if err := Block(ctx, ch, time.Now().Add(10*time.Millisecond)); err != linux.EAGAIN {
		t.Errorf("timed out Block: %v", err)
	}
	if time.Since(start) < 10*time.Millisecond {
		t.Error("Block returned early")
	}
	close(ch)
	if err := Block(ctx, ch, time.Now().Add(time.Hour)); err != nil {
		t.Errorf("ready Block: %v", err)
	}
	ctx.Interrupt()
	if err := Block(ctx, make(chan struct{}), time.Time{}); err != linux.ERESTARTSYS {
		t.Errorf("interrupted Block: %v", err)
	}
	if err := Block(ctx, make(chan struct{}), time.Now().Add(time.Hour)); err != linux.EINTR {
		t.Errorf("interrupted timed Block: %v", err)
	}
}
