// Package eventfd implements eventfd(2) files: a 64-bit counter that
// write(2) adds to and read(2) takes (all of it, or one in semaphore mode),
// blocking or failing with EAGAIN under O_NONBLOCK, and pollable.
package eventfd

import (
	"encoding/binary"
	"math"
	"sync"
	"time"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/vfs"
)

// maxCount is the largest value the counter can hold.
const maxCount = math.MaxUint64 - 1

// anonDev is the device of anonymous-inode files (epoll, eventfd).
var anonDev = vfs.MakeDev(0, 13)

// anonInode is the inode of an eventfd: mode 0600 without a type, like
// Linux's anonymous inodes.
type anonInode struct{ attr vfs.Attr }

func (i *anonInode) Stat(vfs.Context) (vfs.Attr, error) { return i.attr, nil }

func (i *anonInode) Open(vfs.Context, uint32) (vfs.FileImpl, error) { return nil, linux.ENXIO }

// EventFD is an eventfd's counter. It implements vfs.FileImpl, vfs.Waiter
// and vfs.StreamImpl.
type EventFD struct {
	mu      sync.Mutex
	count   uint64        // guarded by mu
	sem     bool          // EFD_SEMAPHORE
	changed chan struct{} // closed at the next change, guarded by mu
}

// NewFile returns a new eventfd file (one reference) with counter initval,
// named "anon_inode:[eventfd]" and opened O_RDWR. flags are eventfd2's:
// EFD_SEMAPHORE, EFD_NONBLOCK and EFD_CLOEXEC (which is per fd: the caller
// handles it); others fail with linux.EINVAL.
func NewFile(ctx vfs.Context, initval uint64, flags uint32) (*vfs.File, error) {
	if flags&^(linux.EFD_SEMAPHORE|linux.EFD_NONBLOCK|linux.EFD_CLOEXEC) != 0 {
		return nil, linux.EINVAL
	}
	if initval > maxCount {
		return nil, linux.EINVAL
	}
	now := time.Now()
	ts := linux.Timespec{Sec: now.Unix(), Nsec: int64(now.Nanosecond())}
	creds := ctx.Credentials()
	in := &anonInode{attr: vfs.Attr{
		Mode: 0o600, UID: creds.EffectiveUID, GID: creds.EffectiveGID, Nlink: 1, BlkSize: 4096,
		Ino: vfs.NewIno(), Dev: anonDev, Atime: ts, Mtime: ts, Ctime: ts,
	}}
	e := &EventFD{count: initval, sem: flags&linux.EFD_SEMAPHORE != 0, changed: make(chan struct{})}
	return vfs.NewFile(in, e, linux.O_RDWR|flags&linux.EFD_NONBLOCK, "anon_inode:[eventfd]"), nil
}

// FromFile returns the counter behind an eventfd file.
func FromFile(f *vfs.File) (*EventFD, bool) {
	e, ok := f.Impl().(*EventFD)
	return e, ok
}

// Count returns the counter (for /proc/<pid>/fdinfo's eventfd-count).
func (e *EventFD) Count() uint64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.count
}

// changedLocked wakes waiters. e.mu held.
func (e *EventFD) changedLocked() {
	close(e.changed)
	e.changed = make(chan struct{})
}

// waitLocked sleeps until the next change (e.mu held on entry and return)
// or a signal (linux.ERESTARTSYS).
func (e *EventFD) waitLocked(ctx vfs.Context) error {
	ch := e.changed
	e.mu.Unlock()
	err := ctx.Block(ch)
	e.mu.Lock()
	if err != nil {
		return linux.ERESTARTSYS
	}
	return nil
}

// Read implements vfs.FileImpl: it stores the counter (or 1 in semaphore
// mode) as 8 native-endian bytes and subtracts it, waiting while the
// counter is zero.
func (e *EventFD) Read(ctx vfs.Context, f *vfs.File, dst []byte, _ int64) (int, error) {
	if len(dst) < 8 {
		return 0, linux.EINVAL
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for e.count == 0 {
		if f.StatusFlags()&linux.O_NONBLOCK != 0 {
			return 0, linux.EAGAIN
		}
		if err := e.waitLocked(ctx); err != nil {
			return 0, err
		}
	}
	v := e.count
	if e.sem {
		v = 1
	}
	e.count -= v
	binary.LittleEndian.PutUint64(dst, v)
	e.changedLocked()
	return 8, nil
}

// Write implements vfs.FileImpl: it adds the 8-byte value to the counter,
// waiting while that would exceed 2^64-2. 2^64-1 fails with linux.EINVAL.
func (e *EventFD) Write(ctx vfs.Context, f *vfs.File, src []byte, _ int64) (int, error) {
	if len(src) < 8 {
		return 0, linux.EINVAL
	}
	v := binary.LittleEndian.Uint64(src)
	if v == math.MaxUint64 {
		return 0, linux.EINVAL
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for maxCount-e.count < v {
		if f.StatusFlags()&linux.O_NONBLOCK != 0 {
			return 0, linux.EAGAIN
		}
		if err := e.waitLocked(ctx); err != nil {
			return 0, err
		}
	}
	e.count += v
	e.changedLocked()
	return 8, nil
}

// Release implements vfs.FileImpl.
func (e *EventFD) Release() {}

// Readiness implements vfs.Waiter: readable when the counter is not zero,
// writable while at least 1 can be added.
func (e *EventFD) Readiness(mask uint32) uint32 {
	e.mu.Lock()
	defer e.mu.Unlock()
	var r uint32
	if e.count > 0 {
		r |= linux.POLLIN | linux.POLLRDNORM
	}
	if e.count < maxCount {
		r |= linux.POLLOUT | linux.POLLWRNORM
	}
	return r & mask
}

// Notify implements vfs.Waiter.
func (e *EventFD) Notify() <-chan struct{} {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.changed
}

// IsStream implements vfs.StreamImpl: an eventfd has no position, and a
// blocked read must not hold the file's position lock.
func (e *EventFD) IsStream() bool { return true }

// Seek implements vfs.Seeker: lseek succeeds and changes nothing, like
// Linux's noop_llseek.
func (e *EventFD) Seek(vfs.Context, *vfs.File, int64, int) (int64, error) { return 0, nil }
