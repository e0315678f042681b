package epoll_test

import (
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

// now is a deadline that makes Wait not sleep.
func now() time.Time { return time.Now() }

func setup(t *testing.T) (*vfstest.Context, *vfs.File, *epoll.Instance) {
	t.Helper()
	ctx := vfstest.NewContext()
	f := epoll.NewFile(ctx)
	t.Cleanup(f.DecRef)
	ep, ok := epoll.FromFile(f)
	if !ok {
		t.Fatal("FromFile failed on an epoll file")
	}
	return ctx, f, ep
}

func mustCtl(t *testing.T, ep *epoll.Instance, op int, f *vfs.File, fd int32, events uint32, data uint64) {
	t.Helper()
	if err := ep.Ctl(op, f, fd, epoll.Event{Events: events, Data: data}); err != nil {
		t.Fatalf("ctl(%d, fd %d): %v", op, fd, err)
	}
}

func wait(t *testing.T, ctx *vfstest.Context, ep *epoll.Instance, max int) []epoll.Event {
	t.Helper()
	evs, err := ep.Wait(ctx, max, now())
	if err != nil {
		t.Fatalf("wait: %v", err)
	}
	return evs
}

func write(t *testing.T, ctx vfs.Context, w *vfs.File, s string) {
	t.Helper()
	if _, err := w.Write(ctx, []byte(s)); err != nil {
		t.Fatalf("write: %v", err)
	}
}

func TestLevelTriggered(t *testing.T) {
	ctx, _, ep := setup(t)
	r, w := pipe.NewPair(ctx, 0)
	defer r.DecRef()
	defer w.DecRef()
	mustCtl(t, ep, linux.EPOLL_CTL_ADD, r, 3, linux.EPOLLIN, 33)
	if evs := wait(t, ctx, ep, 8); len(evs) != 0 {
		t.Fatalf("empty pipe reported %v", evs)
	}
	write(t, ctx, w, "x")
	for i := 0; i < 2; i++ {
		evs := wait(t, ctx, ep, 8)
		if len(evs) != 1 || evs[0].Events != linux.EPOLLIN || evs[0].Data != 33 {
			t.Fatalf("round %d: %+v", i, evs)
		}
	}
}

func TestEdgeTriggered(t *testing.T) {
	ctx, _, ep := setup(t)
	r, w := pipe.NewPair(ctx, 0)
	defer r.DecRef()
	defer w.DecRef()
	write(t, ctx, w, "a")
	mustCtl(t, ep, linux.EPOLL_CTL_ADD, r, 3, linux.EPOLLIN|linux.EPOLLET, 1)
	if evs := wait(t, ctx, ep, 8); len(evs) != 1 {
		t.Fatalf("first wait: %+v", evs)
	}
	if evs := wait(t, ctx, ep, 8); len(evs) != 0 {
		t.Fatalf("no new edge but reported %+v", evs)
	}
	write(t, ctx, w, "b")
	if evs := wait(t, ctx, ep, 8); len(evs) != 1 {
		t.Fatalf("new data not reported: %+v", evs)
	}
	if evs := wait(t, ctx, ep, 8); len(evs) != 0 {
		t.Fatalf("reported twice: %+v", evs)
	}
	// MOD re-arms.
	mustCtl(t, ep, linux.EPOLL_CTL_MOD, r, 3, linux.EPOLLIN|linux.EPOLLET, 2)
	if evs := wait(t, ctx, ep, 8); len(evs) != 1 || evs[0].Data != 2 {
		t.Fatalf("after MOD: %+v", evs)
	}
}

func TestOneShot(t *testing.T) {
	ctx, _, ep := setup(t)
	r, w := pipe.NewPair(ctx, 0)
	defer r.DecRef()
	defer w.DecRef()
	write(t, ctx, w, "a")
	mustCtl(t, ep, linux.EPOLL_CTL_ADD, r, 3, linux.EPOLLIN|linux.EPOLLONESHOT, 7)
	if evs := wait(t, ctx, ep, 8); len(evs) != 1 {
		t.Fatalf("first: %+v", evs)
	}
	write(t, ctx, w, "b")
	if evs := wait(t, ctx, ep, 8); len(evs) != 0 {
		t.Fatalf("disabled item reported %+v", evs)
	}
	if err := ep.Ctl(linux.EPOLL_CTL_ADD, r, 3, epoll.Event{Events: linux.EPOLLIN}); !errors.Is(err, linux.EEXIST) {
		t.Fatalf("re-ADD of disabled item: %v", err)
	}
	mustCtl(t, ep, linux.EPOLL_CTL_MOD, r, 3, linux.EPOLLIN|linux.EPOLLONESHOT, 8)
	if evs := wait(t, ctx, ep, 8); len(evs) != 1 || evs[0].Data != 8 {
		t.Fatalf("after MOD: %+v", evs)
	}
}

func TestHangupAlwaysReported(t *testing.T) {
	ctx, _, ep := setup(t)
	r, w := pipe.NewPair(ctx, 0)
	defer r.DecRef()
	mustCtl(t, ep, linux.EPOLL_CTL_ADD, r, 3, linux.EPOLLOUT, 0) // a read end is never writable
	if evs := wait(t, ctx, ep, 8); len(evs) != 0 {
		t.Fatalf("%+v", evs)
	}
	w.DecRef()
	evs := wait(t, ctx, ep, 8)
	if len(evs) != 1 || evs[0].Events != linux.EPOLLHUP {
		t.Fatalf("want EPOLLHUP, got %+v", evs)
	}
}

// plainImpl is a FileImpl without readiness support (a regular file).
type plainImpl struct{ vfs.NoFile }

type plainInode struct{}

func (plainInode) Stat(vfs.Context) (vfs.Attr, error) {
	return vfs.Attr{Mode: linux.S_IFREG | 0o644}, nil
}
func (plainInode) Open(vfs.Context, uint32) (vfs.FileImpl, error) { return plainImpl{}, nil }

func TestCtlErrors(t *testing.T) {
	ctx, self, ep := setup(t)
	r, w := pipe.NewPair(ctx, 0)
	defer r.DecRef()
	defer w.DecRef()
	reg := vfs.NewFile(plainInode{}, plainImpl{}, linux.O_RDONLY, "reg")
	defer reg.DecRef()
	in := epoll.Event{Events: linux.EPOLLIN}
	for _, c := range []struct {
		name string
		op   int
		f    *vfs.File
		ev   epoll.Event
		want error
	}{
		{"regular file", linux.EPOLL_CTL_ADD, reg, in, linux.EPERM},
		{"itself", linux.EPOLL_CTL_ADD, self, in, linux.EINVAL},
		{"MOD missing", linux.EPOLL_CTL_MOD, r, in, linux.ENOENT},
		{"DEL missing", linux.EPOLL_CTL_DEL, r, in, linux.ENOENT},
		{"bad op", 99, r, in, linux.EINVAL},
		{"exclusive oneshot", linux.EPOLL_CTL_ADD, r, epoll.Event{Events: linux.EPOLLIN | linux.EPOLLEXCLUSIVE | linux.EPOLLONESHOT}, linux.EINVAL},
	} {
		if err := ep.Ctl(c.op, c.f, 5, c.ev); !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}
	mustCtl(t, ep, linux.EPOLL_CTL_ADD, r, 5, linux.EPOLLIN|linux.EPOLLEXCLUSIVE, 0)
	if err := ep.Ctl(linux.EPOLL_CTL_MOD, r, 5, in); !errors.Is(err, linux.EINVAL) {
		t.Errorf("MOD of exclusive item: %v", err)
	}
	// The same file under another fd is another item.
	mustCtl(t, ep, linux.EPOLL_CTL_ADD, r, 6, linux.EPOLLIN, 0)
	mustCtl(t, ep, linux.EPOLL_CTL_DEL, r, 5, 0, 0)
	if n := ep.Len(); n != 1 {
		t.Fatalf("Len = %d, want 1", n)
	}
}

func TestClosedFileIsDroppedAndNotKeptOpen(t *testing.T) {
	ctx, _, ep := setup(t)
	r, w := pipe.NewPair(ctx, 0)
	defer w.DecRef()
	mustCtl(t, ep, linux.EPOLL_CTL_ADD, r, 3, linux.EPOLLIN, 0)
	r.DecRef() // last close of the read end
	if _, err := w.Write(ctx, []byte("x")); !errors.Is(err, linux.EPIPE) {
		t.Fatalf("epoll kept the read end open: write = %v", err)
	}
	if evs := wait(t, ctx, ep, 8); len(evs) != 0 {
		t.Fatalf("closed file reported %+v", evs)
	}
	if n := ep.Len(); n != 0 {
		t.Fatalf("Len = %d after close", n)
	}
}

func TestFairnessWithSmallMaxEvents(t *testing.T) {
	ctx, _, ep := setup(t)
	var seen [3]int
	for i := 0; i < 3; i++ {
		r, w := pipe.NewPair(ctx, 0)
		defer r.DecRef()
		defer w.DecRef()
		write(t, ctx, w, "x")
		mustCtl(t, ep, linux.EPOLL_CTL_ADD, r, int32(3+i), linux.EPOLLIN, uint64(i))
	}
	for i := 0; i < 6; i++ {
		evs := wait(t, ctx, ep, 1)
		if len(evs) != 1 {
			t.Fatalf("round %d: %+v", i, evs)
		}
		seen[evs[0].Data]++
	}
	if seen != [3]int{2, 2, 2} {
		t.Fatalf("unfair reporting: %v", seen)
	}
}

func TestBlockingWaitWakes(t *testing.T) {
	ctx, _, ep := setup(t)
	r, w := pipe.NewPair(ctx, 0)
	defer r.DecRef()
	defer w.DecRef()
	mustCtl(t, ep, linux.EPOLL_CTL_ADD, r, 3, linux.EPOLLIN, 9)
	go func() {
		time.Sleep(20 * time.Millisecond)
		w.Write(ctx, []byte("x"))
	}()
	evs, err := ep.Wait(ctx, 4, time.Time{})
	if err != nil || len(evs) != 1 || evs[0].Data != 9 {
		t.Fatalf("wait = %+v, %v", evs, err)
	}
}

func TestWaitSeesLaterAdd(t *testing.T) {
	ctx, _, ep := setup(t)
	e, err := eventfd.NewFile(ctx, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer e.DecRef()
	go func() {
		time.Sleep(20 * time.Millisecond)
		ep.Ctl(linux.EPOLL_CTL_ADD, e, 4, epoll.Event{Events: linux.EPOLLIN, Data: 4})
	}()
	evs, err := ep.Wait(ctx, 4, time.Now().Add(5*time.Second))
	if err != nil || len(evs) != 1 || evs[0].Data != 4 {
		t.Fatalf("wait = %+v, %v", evs, err)
	}
}

func TestWaitTimeoutAndInterrupt(t *testing.T) {
	ctx, _, ep := setup(t)
	r, w := pipe.NewPair(ctx, 0)
	defer r.DecRef()
	defer w.DecRef()
	mustCtl(t, ep, linux.EPOLL_CTL_ADD, r, 3, linux.EPOLLIN, 0)
	start := time.Now()
	evs, err := ep.Wait(ctx, 4, start.Add(30*time.Millisecond))
	if err != nil || len(evs) != 0 {
		t.Fatalf("timeout wait = %+v, %v", evs, err)
	}
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Fatalf("returned after %v", d)
	}
	go func() {
		time.Sleep(20 * time.Millisecond)
		ctx.Interrupt()
	}()
	if _, err := ep.Wait(ctx, 4, time.Time{}); !errors.Is(err, linux.EINTR) {
		t.Fatalf("interrupted wait: %v", err)
	}
	if _, err := ep.Wait(ctx, 0, time.Time{}); !errors.Is(err, linux.EINVAL) {
		t.Fatalf("maxevents 0: %v", err)
	}
}

func TestNested(t *testing.T) {
	ctx, outerFile, outer := setup(t)
	innerFile := epoll.NewFile(ctx)
	defer innerFile.DecRef()
	inner, _ := epoll.FromFile(innerFile)
	r, w := pipe.NewPair(ctx, 0)
	defer r.DecRef()
	defer w.DecRef()
	mustCtl(t, inner, linux.EPOLL_CTL_ADD, r, 3, linux.EPOLLIN, 1)
	mustCtl(t, outer, linux.EPOLL_CTL_ADD, innerFile, 4, linux.EPOLLIN, 2)
	if err := inner.Ctl(linux.EPOLL_CTL_ADD, outerFile, 5, epoll.Event{Events: linux.EPOLLIN}); !errors.Is(err, linux.ELOOP) {
		t.Fatalf("cycle: %v", err)
	}
	if got := innerFile.Readiness(linux.POLLIN); got != 0 {
		t.Fatalf("idle inner readiness %#x", got)
	}
	go func() {
		time.Sleep(20 * time.Millisecond)
		w.Write(ctx, []byte("x"))
	}()
	evs, err := outer.Wait(ctx, 4, time.Now().Add(5*time.Second))
	if err != nil || len(evs) != 1 || evs[0].Data != 2 || evs[0].Events != linux.EPOLLIN {
		t.Fatalf("outer wait = %+v, %v", evs, err)
	}
	// Peeking through the outer instance did not consume the inner event.
	if evs := wait(t, ctx, inner, 4); len(evs) != 1 || evs[0].Data != 1 {
		t.Fatalf("inner wait = %+v", evs)
	}
}

func TestNestingDepthLimit(t *testing.T) {
	ctx := vfstest.NewContext()
	var files []*vfs.File
	for i := 0; i < 7; i++ {
		f := epoll.NewFile(ctx)
		defer f.DecRef()
		files = append(files, f)
	}
	// files[i] watches files[i+1]: adding from the bottom up builds ever
	// deeper chains under the watcher.
	var err error
	depth := 0
	for i := len(files) - 2; i >= 0; i-- {
		ep, _ := epoll.FromFile(files[i])
		if err = ep.Ctl(linux.EPOLL_CTL_ADD, files[i+1], 3, epoll.Event{Events: linux.EPOLLIN}); err != nil {
			break
		}
		depth++
	}
	if !errors.Is(err, linux.ELOOP) || depth != linux.EP_MAX_NESTS {
		t.Fatalf("chain stopped at depth %d with %v", depth, err)
	}
}

func TestFileBasics(t *testing.T) {
	ctx, f, _ := setup(t)
	if f.PathName() != "anon_inode:[eventpoll]" {
		t.Fatalf("name %q", f.PathName())
	}
	if _, err := f.Read(ctx, make([]byte, 8)); !errors.Is(err, linux.EINVAL) {
		t.Fatalf("read: %v", err)
	}
	st, err := f.Stat(ctx)
	if err != nil || st.Mode != 0o600 {
		t.Fatalf("stat mode %#o, %v", st.Mode, err)
	}
}

func TestWaitAny(t *testing.T) {
	ctx := vfstest.NewContext()
	a, b := make(chan struct{}), make(chan struct{})
	if err := epoll.WaitAny(ctx, []<-chan struct{}{a, b, nil, a}, time.Now()); !errors.Is(err, linux.ETIMEDOUT) {
		t.Fatalf("past deadline: %v", err)
	}
	go func() {
		time.Sleep(10 * time.Millisecond)
		close(b)
	}()
	if err := epoll.WaitAny(ctx, []<-chan struct{}{a, b}, time.Time{}); err != nil {
		t.Fatalf("wait: %v", err)
	}
	start := time.Now()
	if err := epoll.WaitAny(ctx, []<-chan struct{}{a}, start.Add(20*time.Millisecond)); !errors.Is(err, linux.ETIMEDOUT) || time.Since(start) < 20*time.Millisecond {
		t.Fatalf("timeout: %v after %v", err, time.Since(start))
	}
	ctx.Interrupt()
	if err := epoll.WaitAny(ctx, []<-chan struct{}{a}, time.Now().Add(time.Hour)); !errors.Is(err, linux.ERESTARTSYS) {
		t.Fatalf("interrupt: %v", err)
	}
}
