package syscalls

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/fs/epoll"
	"bulwark.dev/pkg/fs/eventfd"
	"bulwark.dev/pkg/fs/pipe"
	"bulwark.dev/pkg/vfs"
	"bulwark.dev/pkg/vfs/vfstest"
)

// pipeTable returns an fd table with a pipe at fds 3 (read) and 4 (write)
// and an eventfd (counter 0) at 5.
func pipeTable(t *testing.T, ctx vfs.Context) (*vfs.FDTable, *vfs.File) {
	t.Helper()
	fdt := vfs.NewFDTable()
	t.Cleanup(fdt.Release)
	r, w := pipe.NewPair(ctx, 0)
	e, err := eventfd.NewFile(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range []*vfs.File{r, w, e} {
		if err := fdt.NewFDAt(int32(3+i), f, vfs.FDFlags{}); err != nil {
			t.Fatal(err)
		}
		f.DecRef()
	}
	return fdt, w
}

func TestPollFDEncoding(t *testing.T) {
	raw := []byte{
		3, 0, 0, 0, 0x01, 0x00, 0x00, 0x00, // fd 3, POLLIN
		0xff, 0xff, 0xff, 0xff, 0x04, 0x00, 0x20, 0x00, // fd -1, POLLOUT, revents POLLNVAL
	}
	fds := decodePollFDs(raw)
	want := []pollFD{{3, linux.POLLIN, 0}, {-1, linux.POLLOUT, linux.POLLNVAL}}
	if len(fds) != 2 || fds[0] != want[0] || fds[1] != want[1] {
		t.Fatalf("decoded %+v", fds)
	}
	if !bytes.Equal(encodePollFDs(fds), raw) {
		t.Fatalf("round trip %v", encodePollFDs(fds))
	}
}

func TestFDSetLayout(t *testing.T) {
	if fdSetBytes(0) != 0 || fdSetBytes(1) != 8 || fdSetBytes(64) != 8 || fdSetBytes(65) != 16 ||
		fdSetBytes(linux.FD_SETSIZE) != 128 {
		t.Fatal("fdSetBytes")
	}
	b := make([]byte, 16)
	b[0] = 1 << 3 // fd 3
	b[8] = 1 << 1 // fd 65
	w := decodeFDSet(b)
	for fd := 0; fd < 128; fd++ {
		if fdIsSet(w, fd) != (fd == 3 || fd == 65) {
			t.Fatalf("fd %d wrongly decoded", fd)
		}
	}
	if !bytes.Equal(encodeFDSet(w), b) {
		t.Fatal("round trip")
	}
	if fdIsSet(nil, 3) {
		t.Fatal("nil set has members")
	}
}

func TestEpollEventEncoding(t *testing.T) {
	b := encodeEpollEvents([]epoll.Event{{Events: linux.EPOLLIN | linux.EPOLLET, Data: 0x1122334455667788}, {Events: 4, Data: 9}})
	if len(b) != 24 {
		t.Fatalf("%d bytes, want packed 12-byte events", len(b))
	}
	if binary.LittleEndian.Uint32(b) != linux.EPOLLIN|linux.EPOLLET || binary.LittleEndian.Uint64(b[4:]) != 0x1122334455667788 {
		t.Fatalf("first event % x", b[:12])
	}
	if ev := decodeEpollEvent(b[12:]); ev.Events != 4 || ev.Data != 9 {
		t.Fatalf("decoded %+v", ev)
	}
}

func TestDoPoll(t *testing.T) {
	ctx := vfstest.NewContext()
	fdt, w := pipeTable(t, ctx)
	fds := []pollFD{
		{FD: 3, Events: linux.POLLIN},
		{FD: 4, Events: linux.POLLOUT},
		{FD: 5, Events: linux.POLLIN},
		{FD: 99, Events: linux.POLLIN},
		{FD: -1, Events: linux.POLLIN, Revents: 0xff},
	}
	n, err := doPoll(ctx, fdt, fds, time.Now())
	if err != nil || n != 2 {
		t.Fatalf("poll = %d, %v", n, err)
	}
	want := []uint16{0, linux.POLLOUT, 0, linux.POLLNVAL, 0}
	for i, p := range fds {
		if p.Revents != want[i] {
			t.Errorf("fd %d revents %#x, want %#x", p.FD, p.Revents, want[i])
		}
	}
	// Block until the pipe gets data.
	go func() {
		time.Sleep(20 * time.Millisecond)
		w.Write(ctx, []byte("x"))
	}()
	fds = []pollFD{{FD: 3, Events: linux.POLLIN}, {FD: 5, Events: linux.POLLIN}}
	n, err = doPoll(ctx, fdt, fds, time.Time{})
	if err != nil || n != 1 || fds[0].Revents != linux.POLLIN || fds[1].Revents != 0 {
		t.Fatalf("blocking poll = %d, %v, %+v", n, err, fds)
	}
}

func TestDoPollHangupAndTimeout(t *testing.T) {
	ctx := vfstest.NewContext()
	fdt, _ := pipeTable(t, ctx)
	start := time.Now()
	fds := []pollFD{{FD: 5, Events: linux.POLLIN}}
	if n, err := doPoll(ctx, fdt, fds, start.Add(30*time.Millisecond)); n != 0 || err != nil {
		t.Fatalf("timeout poll = %d, %v", n, err)
	}
	if time.Since(start) < 30*time.Millisecond {
		t.Fatal("returned early")
	}
	// Closing the only write end hangs up the read end: POLLHUP is
	// reported though not asked for.
	f, err := fdt.Remove(4)
	if err != nil {
		t.Fatal(err)
	}
	f.DecRef()
	fds = []pollFD{{FD: 3, Events: 0}}
	if n, err := doPoll(ctx, fdt, fds, time.Time{}); n != 1 || err != nil || fds[0].Revents != linux.POLLHUP {
		t.Fatalf("hangup poll = %d, %v, %+v", n, err, fds)
	}
}

func TestDoPollInterrupted(t *testing.T) {
	ctx := vfstest.NewContext()
	fdt, _ := pipeTable(t, ctx)
	ctx.Interrupt()
	fds := []pollFD{{FD: 3, Events: linux.POLLIN}}
	if _, err := doPoll(ctx, fdt, fds, time.Time{}); !errors.Is(err, linux.ERESTARTNOHAND) {
		t.Fatalf("interrupted poll: %v", err)
	}
}

func TestDoSelect(t *testing.T) {
	ctx := vfstest.NewContext()
	fdt, w := pipeTable(t, ctx)
	bits := func(fds ...int) []uint64 {
		s := make([]uint64, 1)
		for _, fd := range fds {
			s[0] |= 1 << fd
		}
		return s
	}
	sets := fdSets{bits(3, 5), bits(3, 4), nil}
	n, err := doSelect(ctx, fdt, 6, &sets, time.Now())
	if err != nil || n != 1 || sets[0][0] != 0 || sets[1][0] != 1<<4 || sets[2] != nil {
		t.Fatalf("select = %d, %v, %v", n, err, sets)
	}
	w.Write(ctx, []byte("x"))
	sets = fdSets{bits(3), bits(4), bits(3, 4)}
	n, err = doSelect(ctx, fdt, 6, &sets, time.Time{})
	if err != nil || n != 2 || sets[0][0] != 1<<3 || sets[1][0] != 1<<4 || sets[2][0] != 0 {
		t.Fatalf("select = %d, %v, %v", n, err, sets)
	}
	// A timeout clears the sets.
	sets = fdSets{bits(5), nil, nil}
	if n, err := doSelect(ctx, fdt, 6, &sets, time.Now().Add(10*time.Millisecond)); n != 0 || err != nil || sets[0][0] != 0 {
		t.Fatalf("timeout select = %d, %v, %v", n, err, sets)
	}
	// A closed fd in any set is EBADF.
	sets = fdSets{nil, nil, bits(7)}
	if _, err := doSelect(ctx, fdt, 8, &sets, time.Now()); !errors.Is(err, linux.EBADF) {
		t.Fatalf("bad fd: %v", err)
	}
	// Bits past nfds are not looked at.
	sets = fdSets{bits(3, 7), nil, nil}
	if n, err := doSelect(ctx, fdt, 4, &sets, time.Now()); n != 1 || err != nil {
		t.Fatalf("nfds bound: %d, %v", n, err)
	}
}

func TestSelectLimit(t *testing.T) {
	ctx := vfstest.NewContext()
	fdt, _ := pipeTable(t, ctx)
	if got := selectLimit(fdt, 1024); got != 64 {
		t.Fatalf("limit %d, want 64", got)
	}
	r, _, _ := fdt.Get(3)
	defer r.DecRef()
	if err := fdt.NewFDAt(100, r, vfs.FDFlags{}); err != nil {
		t.Fatal(err)
	}
	if got := selectLimit(fdt, 1024); got != 128 {
		t.Fatalf("limit %d, want 128", got)
	}
	if got := selectLimit(fdt, 5); got != 5 {
		t.Fatalf("limit %d, want 5", got)
	}
}

func TestPollDuration(t *testing.T) {
	for _, c := range []struct {
		sec, nsec int64
		want      time.Duration
		err       error
	}{
		{0, 0, 0, nil},
		{1, 500, time.Second + 500, nil},
		{-1, 0, 0, linux.EINVAL},
		{0, -1, 0, linux.EINVAL},
		{0, 1e9, 0, linux.EINVAL},
	} {
		d, err := pollDuration(c.sec, c.nsec)
		if d != c.want || !errors.Is(err, c.err) && !(err == nil && c.err == nil) {
			t.Errorf("pollDuration(%d, %d) = %v, %v", c.sec, c.nsec, d, err)
		}
	}
	if d, err := pollDuration(1<<62, 0); err != nil || d <= 0 {
		t.Errorf("huge timeout = %v, %v", d, err)
	}
}

func TestPollSyscallsRegistered(t *testing.T) {
	for _, nr := range []uintptr{
		linux.SYS_POLL, linux.SYS_PPOLL, linux.SYS_SELECT, linux.SYS_PSELECT6, linux.SYS_EPOLL_CREATE,
		linux.SYS_EPOLL_CREATE1, linux.SYS_EPOLL_CTL, linux.SYS_EPOLL_WAIT, linux.SYS_EPOLL_PWAIT,
		linux.SYS_EPOLL_PWAIT2, linux.SYS_EVENTFD, linux.SYS_EVENTFD2,
	} {
		if _, ok := Table()[nr]; !ok {
			t.Errorf("%s not registered", linux.SyscallNames[nr])
		}
	}
}

func TestPollOnEpollFD(t *testing.T) {
	ctx := vfstest.NewContext()
	fdt, w := pipeTable(t, ctx)
	epf := epoll.NewFile(ctx)
	ep, _ := epoll.FromFile(epf)
	if err := fdt.NewFDAt(6, epf, vfs.FDFlags{}); err != nil {
		t.Fatal(err)
	}
	epf.DecRef()
	r, _, _ := fdt.Get(3)
	err := ep.Ctl(linux.EPOLL_CTL_ADD, r, 3, epoll.Event{Events: linux.EPOLLIN})
	r.DecRef()
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(20 * time.Millisecond)
		w.Write(ctx, []byte("x"))
	}()
	fds := []pollFD{{FD: 6, Events: linux.POLLIN}}
	n, err := doPoll(ctx, fdt, fds, time.Now().Add(5*time.Second))
	if err != nil || n != 1 || fds[0].Revents != linux.POLLIN {
		t.Fatalf("poll on epoll fd = %d, %v, %+v", n, err, fds)
	}
}
