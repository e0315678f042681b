package epoll

import (
	"time"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/vfs"
)

// anonDev is the device of anonymous-inode files (epoll, eventfd).
var anonDev = vfs.MakeDev(0, 13)

// anonInode is the inode of an epoll file: mode 0600 without a type, like
// Linux's anonymous inodes.
type anonInode struct{ attr vfs.Attr }

func (i *anonInode) Stat(vfs.Context) (vfs.Attr, error) { return i.attr, nil }

func (i *anonInode) Open(vfs.Context, uint32) (vfs.FileImpl, error) { return nil, linux.ENXIO }

// NewFile returns a new epoll file (one reference) named
// "anon_inode:[eventpoll]", opened O_RDWR. O_CLOEXEC is the caller's
// per-fd business.
func NewFile(ctx vfs.Context) *vfs.File {
	now := time.Now()
	ts := linux.Timespec{Sec: now.Unix(), Nsec: int64(now.Nanosecond())}
	creds := ctx.Credentials()
	in := &anonInode{attr: vfs.Attr{
		Mode: 0o600, UID: creds.EffectiveUID, GID: creds.EffectiveGID, Nlink: 1, BlkSize: 4096,
		Ino: vfs.NewIno(), Dev: anonDev, Atime: ts, Mtime: ts, Ctime: ts,
	}}
	return vfs.NewFile(in, New(), linux.O_RDWR, "anon_inode:[eventpoll]")
}

// Wait implements epoll_wait: it returns up to max ready events, sleeping
// until there are some, deadline passes (then it returns none; a zero
// deadline never passes and one in the past makes it not sleep), or a
// signal interrupts it (linux.EINTR).
func (ep *Instance) Wait(ctx vfs.Context, max int, deadline time.Time) ([]Event, error) {
	if max <= 0 {
		return nil, linux.EINVAL
	}
	timedOut := false
	for {
		evs, chans := ep.Poll(max)
		if len(evs) > 0 || timedOut {
			return evs, nil
		}
		switch err := WaitAny(ctx, chans, deadline); err {
		case nil:
		case linux.ETIMEDOUT:
			timedOut = true // one last look, like Linux
		default:
			return nil, linux.EINTR
		}
	}
}

// Readiness implements vfs.Waiter: an epoll file is readable when an
// epoll_wait would report something.
func (ep *Instance) Readiness(mask uint32) uint32 {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	if evs, _ := ep.collectLocked(1, false); len(evs) > 0 {
		return mask & (linux.POLLIN | linux.POLLRDNORM)
	}
	return 0
}

// Notify implements vfs.Waiter: the channel closes when the interest list
// or any watched file changes. One fan-in goroutine serves all callers
// until then (or until the instance is released).
func (ep *Instance) Notify() <-chan struct{} {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	if ep.notify != nil && !isClosed(ep.notify) {
		return ep.notify
	}
	ch := make(chan struct{})
	if ep.dead {
		close(ch)
		return ch
	}
	_, chans := ep.collectLocked(0, false)
	ep.notify = ch
	go func(chans []<-chan struct{}, stop <-chan struct{}) {
		selectAny(dedupe(chans), nil, stop)
		close(ch)
	}(chans, ep.stop)
	return ch
}

// Read implements vfs.FileImpl: epoll files cannot be read.
func (ep *Instance) Read(vfs.Context, *vfs.File, []byte, int64) (int, error) {
	return 0, linux.EINVAL
}

// Write implements vfs.FileImpl: epoll files cannot be written.
func (ep *Instance) Write(vfs.Context, *vfs.File, []byte, int64) (int, error) {
	return 0, linux.EINVAL
}

// Release implements vfs.FileImpl: it empties the interest list and ends
// Notify's goroutine.
func (ep *Instance) Release() {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	if ep.dead {
		return
	}
	ep.dead = true
	ep.items = map[key]*item{}
	ep.list = nil
	close(ep.stop)
	ep.changedLocked()
}

// IsStream implements vfs.StreamImpl: an epoll file has no position.
func (ep *Instance) IsStream() bool { return true }

// Seek implements vfs.Seeker: lseek succeeds and changes nothing, like
// Linux's noop_llseek.
func (ep *Instance) Seek(vfs.Context, *vfs.File, int64, int) (int64, error) { return 0, nil }
