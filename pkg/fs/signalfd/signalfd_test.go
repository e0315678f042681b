package signalfd_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"sync"
	"testing"
	"time"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/fs/signalfd"
	"bulwark.dev/pkg/vfs"
	"bulwark.dev/pkg/vfs/vfstest"
)

// fakeTask is a Target with a queue of pending signals.
type fakeTask struct {
	mu      sync.Mutex
	pending []linux.SignalInfo
	event   chan struct{}
}

func newFakeTask() *fakeTask { return &fakeTask{event: make(chan struct{})} }

func (f *fakeTask) send(info linux.SignalInfo) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pending = append(f.pending, info)
	close(f.event)
	f.event = make(chan struct{})
}

func (f *fakeTask) DequeueSignal(set linux.SignalSet) (linux.SignalInfo, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, info := range f.pending {
		if set&(1<<uint(info.Signo-1)) != 0 {
			f.pending = append(f.pending[:i], f.pending[i+1:]...)
			return info, true
		}
	}
	return linux.SignalInfo{}, false
}

func (f *fakeTask) PendingSignals() linux.SignalSet {
	f.mu.Lock()
	defer f.mu.Unlock()
	var s linux.SignalSet
	for _, info := range f.pending {
		s |= 1 << uint(info.Signo-1)
	}
	return s
}

func (f *fakeTask) SignalNotify() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.event
}

func bit(sig int) linux.SignalSet { return 1 << uint(sig-1) }

func decode(t *testing.T, b []byte) []linux.SignalfdSiginfo {
	t.Helper()
	recs := make([]linux.SignalfdSiginfo, len(b)/128)
	if err := binary.Read(bytes.NewReader(b), binary.LittleEndian, recs); err != nil {
		t.Fatal(err)
	}
	return recs
}

func newFile(t *testing.T, task *fakeTask, mask linux.SignalSet, flags uint32) *vfs.File {
	t.Helper()
	f, err := signalfd.NewFile(vfstest.NewContext(), task, mask, flags)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.DecRef)
	return f
}

func TestReadAndReadiness(t *testing.T) {
	if n := binary.Size(linux.SignalfdSiginfo{}); n != 128 {
		t.Fatalf("signalfd_siginfo is %d bytes, want 128", n)
	}
	ctx := vfstest.NewContext()
	task := newFakeTask()
	f := newFile(t, task, bit(linux.SIGUSR1)|bit(linux.SIGKILL), linux.SFD_NONBLOCK)
	s, _ := signalfd.FromFile(f)
	if s.Mask() != bit(linux.SIGUSR1) {
		t.Errorf("mask %#x: SIGKILL must be dropped", s.Mask())
	}
	buf := make([]byte, 3*128)
	if _, err := f.Read(ctx, buf); !errors.Is(err, linux.EAGAIN) {
		t.Fatalf("empty read: %v", err)
	}
	if _, err := f.Read(ctx, make([]byte, 100)); !errors.Is(err, linux.EINVAL) {
		t.Fatalf("short read: %v", err)
	}
	if r := s.Readiness(linux.POLLIN); r != 0 {
		t.Errorf("readiness %#x while empty", r)
	}
	user := linux.SignalInfo{Signo: linux.SIGUSR1, Code: linux.SI_USER}
	binary.LittleEndian.PutUint32(user.Data[0:], 42)
	task.send(user)
	task.send(linux.SignalInfo{Signo: linux.SIGUSR2})
	task.send(user)
	if r := s.Readiness(linux.POLLIN | linux.POLLOUT); r != linux.POLLIN {
		t.Errorf("readiness %#x, want POLLIN", r)
	}
	n, err := f.Read(ctx, buf)
	if err != nil || n != 256 {
		t.Fatalf("read = %d, %v; want two records", n, err)
	}
	for _, r := range decode(t, buf[:n]) {
		if r.Signo != linux.SIGUSR1 || r.PID != 42 {
			t.Errorf("record %+v", r)
		}
	}
	if task.PendingSignals() != bit(linux.SIGUSR2) {
		t.Errorf("left pending %#x, want SIGUSR2 only", task.PendingSignals())
	}
	s.SetMask(bit(linux.SIGUSR2))
	if n, _ := f.Read(ctx, buf); n != 128 || decode(t, buf[:n])[0].Signo != linux.SIGUSR2 {
		t.Errorf("read after the mask update = %d bytes", n)
	}
}

func TestBlockingRead(t *testing.T) {
	ctx := vfstest.NewContext()
	task := newFakeTask()
	f := newFile(t, task, bit(linux.SIGRTMIN), 0)
	go func() {
		time.Sleep(10 * time.Millisecond)
		info := linux.SignalInfo{Signo: linux.SIGRTMIN, Code: linux.SI_QUEUE}
		binary.LittleEndian.PutUint64(info.Data[linux.SigInfoValueOff:], 7)
		task.send(info)
	}()
	buf := make([]byte, 128)
	if n, err := f.Read(ctx, buf); n != 128 || err != nil {
		t.Fatalf("blocking read = %d, %v", n, err)
	}
	r := decode(t, buf)[0]
	if r.Code != linux.SI_QUEUE || r.Int != 7 || r.Ptr != 7 {
		t.Errorf("record %+v", r)
	}
	go func() { time.Sleep(10 * time.Millisecond); ctx.Interrupt() }()
	if _, err := f.Read(ctx, buf); !errors.Is(err, linux.ERESTARTSYS) {
		t.Errorf("interrupted read: %v", err)
	}
}

func TestToSiginfoLayouts(t *testing.T) {
	timer := linux.SignalInfo{Signo: linux.SIGALRM, Code: linux.SI_TIMER}
	binary.LittleEndian.PutUint32(timer.Data[linux.SigInfoTimerIDOff:], 3)
	binary.LittleEndian.PutUint32(timer.Data[linux.SigInfoOverrunOff:], 5)
	if r := signalfd.ToSiginfo(timer); r.TID != 3 || r.Overrun != 5 || r.PID != 0 {
		t.Errorf("timer record %+v", r)
	}
	fault := linux.SignalInfo{Signo: linux.SIGSEGV, Code: linux.SEGV_MAPERR}
	binary.LittleEndian.PutUint64(fault.Data[linux.SigInfoAddrOff:], 0xdead)
	if r := signalfd.ToSiginfo(fault); r.Addr != 0xdead {
		t.Errorf("fault record %+v", r)
	}
	chld := linux.SignalInfo{Signo: linux.SIGCHLD, Code: linux.CLD_EXITED}
	binary.LittleEndian.PutUint32(chld.Data[linux.SigInfoPidOff:], 9)
	binary.LittleEndian.PutUint32(chld.Data[linux.SigInfoStatusOff:], 4)
	if r := signalfd.ToSiginfo(chld); r.PID != 9 || r.Status != 4 {
		t.Errorf("SIGCHLD record %+v", r)
	}
}
