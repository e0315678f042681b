// Package inotify implements inotify(7) instances: watches on inodes fed
// by the VFS's change notifications (vfs.EventSink), and a file whose
// reads return struct inotify_event records.
package inotify

import (
	"encoding/binary"
	"sync"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/vfs"
)

// maxQueued bounds the event queue (Linux's max_queued_events default);
// past it one IN_Q_OVERFLOW event is queued.
const maxQueued = 16384

// event is one queued event.
type event struct {
	wd     int32
	mask   uint32
	cookie uint32
	name   string
}

// size returns the record's length: the header and the name padded with
// NULs to a multiple of the header size (0 without a name).
func (e event) size() int {
	if e.name == "" {
		return linux.SizeofInotifyEvent
	}
	n := (len(e.name) + linux.SizeofInotifyEvent) &^ (linux.SizeofInotifyEvent - 1)
	return linux.SizeofInotifyEvent + n
}

// encode appends the record to b.
func (e event) encode(b []byte) []byte {
	var h [linux.SizeofInotifyEvent]byte
	le := binary.LittleEndian
	le.PutUint32(h[0:], uint32(e.wd))
	le.PutUint32(h[4:], e.mask)
	le.PutUint32(h[8:], e.cookie)
	le.PutUint32(h[12:], uint32(e.size()-linux.SizeofInotifyEvent))
	b = append(b, h[:]...)
	if e.name != "" {
		name := make([]byte, e.size()-linux.SizeofInotifyEvent)
		copy(name, e.name)
		b = append(b, name...)
	}
	return b
}

// watch is one watch descriptor.
type watch struct {
	wd   int32
	in   vfs.Inode
	mask uint32
}

// Instance is an inotify instance (the file behind an inotify fd). It
// implements vfs.FileImpl, vfs.Waiter and vfs.Ioctler.
type Instance struct {
	mu      sync.Mutex
	nextWD  int32                // guarded by mu
	byWD    map[int32]*watch     // guarded by mu
	byInode map[vfs.Inode]*watch // guarded by mu
	queue   []event              // guarded by mu
	changed chan struct{}        // closed when events arrive, guarded by mu
}

// New returns an instance without watches.
func New() *Instance {
	return &Instance{byWD: map[int32]*watch{}, byInode: map[vfs.Inode]*watch{}, changed: make(chan struct{})}
}

// inode is the anonymous inode of inotify files.
type inode struct{ attr vfs.Attr }

func (i *inode) Stat(vfs.Context) (vfs.Attr, error)             { return i.attr, nil }
func (i *inode) Open(vfs.Context, uint32) (vfs.FileImpl, error) { return nil, linux.ENXIO }

// NewFile returns a new instance open as a File (one reference); flags
// may hold O_NONBLOCK.
func NewFile(flags uint32) (*vfs.File, *Instance) {
	in := &inode{attr: vfs.Attr{Mode: 0o600, Nlink: 1, BlkSize: 4096, Ino: vfs.NewIno()}}
	i := New()
	return vfs.NewFile(in, i, linux.O_RDONLY|flags&linux.O_NONBLOCK, "anon_inode:inotify"), i
}

// AddWatch implements inotify_add_watch(2) for in (already resolved and
// permission-checked) and returns the watch descriptor.
func (i *Instance) AddWatch(in vfs.Inode, mask uint32) (int32, error) {
	if mask&linux.IN_ALL_EVENTS == 0 {
		return 0, linux.EINVAL
	}
	if mask&linux.IN_MASK_ADD != 0 && mask&linux.IN_MASK_CREATE != 0 {
		return 0, linux.EINVAL
	}
	i.mu.Lock()
	if w, ok := i.byInode[in]; ok {
		defer i.mu.Unlock()
		if mask&linux.IN_MASK_CREATE != 0 {
			return 0, linux.EEXIST
		}
		if mask&linux.IN_MASK_ADD != 0 {
			w.mask |= mask &^ linux.IN_MASK_ADD
		} else {
			w.mask = mask
		}
		return w.wd, nil
	}
	i.nextWD++
	w := &watch{wd: i.nextWD, in: in, mask: mask &^ linux.IN_MASK_ADD}
	i.byWD[w.wd] = w
	i.byInode[in] = w
	i.mu.Unlock()
	if err := vfs.AddWatch(in, sink{i}); err != nil {
		i.mu.Lock()
		delete(i.byWD, w.wd)
		delete(i.byInode, in)
		i.mu.Unlock()
		return 0, err
	}
	return w.wd, nil
}

// RemoveWatch implements inotify_rm_watch(2): it queues IN_IGNORED.
func (i *Instance) RemoveWatch(wd int32) error {
	i.mu.Lock()
	w, ok := i.byWD[wd]
	if !ok {
		i.mu.Unlock()
		return linux.EINVAL
	}
	i.dropLocked(w)
	i.mu.Unlock()
	vfs.RemoveWatch(w.in, sink{i})
	return nil
}

// dropLocked forgets w and queues IN_IGNORED. i.mu must be held.
func (i *Instance) dropLocked(w *watch) {
	delete(i.byWD, w.wd)
	delete(i.byInode, w.in)
	i.queueLocked(event{wd: w.wd, mask: linux.IN_IGNORED})
}

// queueLocked appends e unless it repeats the last queued event. i.mu
// must be held.
func (i *Instance) queueLocked(e event) {
	if n := len(i.queue); n > 0 && i.queue[n-1] == e {
		return
	}
	if len(i.queue) >= maxQueued {
		ov := event{wd: -1, mask: linux.IN_Q_OVERFLOW}
		if i.queue[len(i.queue)-1] != ov {
			i.queue = append(i.queue, ov)
		}
		return
	}
	i.queue = append(i.queue, e)
	close(i.changed)
	i.changed = make(chan struct{})
}

// sink is the vfs.EventSink of an instance (a type of its own: Instance's
// Notify is vfs.Waiter's).
type sink struct{ i *Instance }

// Notify implements vfs.EventSink.
func (s sink) Notify(in vfs.Inode, mask, cookie uint32, name string) {
	s.i.event(in, mask, cookie, name)
}

// event queues an event of in for the watch on it.
func (i *Instance) event(in vfs.Inode, mask, cookie uint32, name string) {
	i.mu.Lock()
	w, ok := i.byInode[in]
	if !ok {
		i.mu.Unlock()
		return
	}
	ev := mask & (w.mask | linux.IN_ISDIR | linux.IN_IGNORED)
	if ev&^linux.IN_ISDIR == 0 {
		// Self-deletion still ends the watch even if not asked for.
		if mask&linux.IN_DELETE_SELF == 0 {
			i.mu.Unlock()
			return
		}
	} else {
		i.queueLocked(event{wd: w.wd, mask: ev, cookie: cookie, name: name})
	}
	drop := w.mask&linux.IN_ONESHOT != 0 || mask&linux.IN_DELETE_SELF != 0
	if drop {
		i.dropLocked(w)
	}
	i.mu.Unlock()
	if drop {
		// The VFS does not hold its watch lock while notifying.
		vfs.RemoveWatch(in, sink{i})
	}
}

// Read implements vfs.FileImpl: whole events only (linux.EINVAL when dst
// cannot hold the first); it waits for events unless O_NONBLOCK.
func (i *Instance) Read(ctx vfs.Context, f *vfs.File, dst []byte, _ int64) (int, error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	for len(i.queue) == 0 {
		if f != nil && f.StatusFlags()&linux.O_NONBLOCK != 0 {
			return 0, linux.EAGAIN
		}
		ch := i.changed
		i.mu.Unlock()
		err := ctx.Block(ch)
		i.mu.Lock()
		if err != nil {
			return 0, err
		}
	}
	var out []byte
	n := 0
	for n < len(i.queue) && len(out)+i.queue[n].size() <= len(dst) {
		out = i.queue[n].encode(out)
		n++
	}
	if n == 0 {
		return 0, linux.EINVAL
	}
	i.queue = i.queue[n:]
	return copy(dst, out), nil
}

// Write implements vfs.FileImpl.
func (i *Instance) Write(vfs.Context, *vfs.File, []byte, int64) (int, error) { return 0, linux.EINVAL }

// Release implements vfs.FileImpl: every watch goes away.
func (i *Instance) Release() {
	i.mu.Lock()
	var ins []vfs.Inode
	for in := range i.byInode {
		ins = append(ins, in)
	}
	i.byInode, i.byWD, i.queue = map[vfs.Inode]*watch{}, map[int32]*watch{}, nil
	i.mu.Unlock()
	for _, in := range ins {
		vfs.RemoveWatch(in, sink{i})
	}
}

// Readiness implements vfs.Waiter.
func (i *Instance) Readiness(mask uint32) uint32 {
	i.mu.Lock()
	defer i.mu.Unlock()
	if len(i.queue) > 0 {
		return mask & (linux.POLLIN | linux.POLLRDNORM)
	}
	return 0
}

// Notify implements vfs.Waiter.
func (i *Instance) Notify() <-chan struct{} {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.changed
}

// pending returns the bytes of queued events (FIONREAD).
func (i *Instance) pending() int {
	i.mu.Lock()
	defer i.mu.Unlock()
	n := 0
	for _, e := range i.queue {
		n += e.size()
	}
	return n
}

// Ioctl implements vfs.Ioctler: FIONREAD.
func (i *Instance) Ioctl(ctx vfs.Context, _ *vfs.File, cmd uint32, arg uintptr) (uintptr, error) {
	if cmd != linux.FIONREAD {
		return 0, linux.ENOTTY
	}
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], uint32(i.pending()))
	_, err := ctx.CopyOut(arg, b[:])
	return 0, err
}
