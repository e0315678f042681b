// Package epoll implements epoll instances (the file behind epoll_create's
// fd): an interest list of (file, fd) pairs with level- and edge-triggered
// reporting, EPOLLONESHOT and nesting. It also holds WaitAny, the helper
// with which poll, select and epoll_wait sleep on many files at once.
//
// Readiness comes from the files' vfs.Waiter: Readiness says what is ready
// now and Notify gives a channel closed at the next change. Nothing busy
// polls: waiters sleep on those channels.
//
// Lock order: nestMu, then Instance.mu of a watching instance before that
// of the instances it watches (the watch graph has no cycles), then the
// watched files' own locks.
package epoll

import (
	"sync"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/vfs"
)

// Event is one struct epoll_event: the events (EPOLL* bits) and the
// caller's data.
type Event struct {
	Events uint32
	Data   uint64
}

// pollBits are the readiness bits of an item's events; the rest are flags.
const pollBits = 0xffff

// exclusiveOK are the bits EPOLLEXCLUSIVE may be combined with.
const exclusiveOK = linux.EPOLLIN | linux.EPOLLOUT | linux.EPOLLERR | linux.EPOLLHUP |
	linux.EPOLLWAKEUP | linux.EPOLLET | linux.EPOLLEXCLUSIVE

// key identifies an item like Linux does: the file and the fd it was added
// under (dup'd fds of one file are separate items).
type key struct {
	file *vfs.File
	fd   int32
}

// item is one entry of the interest list. It holds no reference to its
// file: the file's last close removes the item (see vfs.File.TryIncRef).
type item struct {
	key
	events   uint32 // requested EPOLL* bits, always with EPOLLERR|EPOLLHUP
	data     uint64
	disabled bool // EPOLLONESHOT item that reported; MOD re-enables it
	// EPOLLET: armed is set when the item may report (after ADD/MOD, or
	// once since is closed); since is the file's change channel taken at
	// the last look.
	armed bool
	since <-chan struct{}
}

// Instance is an epoll instance. It implements vfs.FileImpl and vfs.Waiter
// (so epoll fds can be polled and nested).
type Instance struct {
	mu      sync.Mutex
	items   map[key]*item
	list    []*item       // interest order; scans start at next (fairness)
	next    int           // guarded by mu
	changed chan struct{} // closed and replaced when the list changes
	notify  chan struct{} // Notify's channel while a fan-in runs
	stop    chan struct{} // closed by Release: ends Notify's fan-in
	dead    bool
}

// New returns an empty epoll instance (see NewFile for the file).
func New() *Instance {
	return &Instance{items: map[key]*item{}, changed: make(chan struct{}), stop: make(chan struct{})}
}

// FromFile returns the instance behind an epoll file.
func FromFile(f *vfs.File) (*Instance, bool) {
	ep, ok := f.Impl().(*Instance)
	return ep, ok
}

// changedLocked wakes waiters after an interest-list change. ep.mu held.
func (ep *Instance) changedLocked() {
	close(ep.changed)
	ep.changed = make(chan struct{})
}

// nestMu serializes adding epoll instances to epoll instances, so two such
// adds cannot build a cycle between them.
var nestMu sync.Mutex

// Ctl implements epoll_ctl(op, fd, ev) for f, the file at fd. The caller
// has checked the fds (EBADF) and copied ev in.
func (ep *Instance) Ctl(op int, f *vfs.File, fd int32, ev Event) error {
	if _, ok := f.Impl().(vfs.Waiter); !ok {
		return linux.EPERM
	}
	ev.Events &^= linux.EPOLLWAKEUP // needs CAP_BLOCK_SUSPEND; Linux drops it silently
	target, nested := f.Impl().(*Instance)
	if target == ep {
		return linux.EINVAL
	}
	if ev.Events&linux.EPOLLEXCLUSIVE != 0 && op != linux.EPOLL_CTL_DEL {
		if op == linux.EPOLL_CTL_MOD || nested || ev.Events&^exclusiveOK != 0 {
			return linux.EINVAL
		}
	}
	if nested && op == linux.EPOLL_CTL_ADD {
		nestMu.Lock()
		defer nestMu.Unlock()
		if err := checkNest(target, ep, 1); err != nil {
			return err
		}
	}
	ep.mu.Lock()
	defer ep.mu.Unlock()
	k := key{f, fd}
	it := ep.items[k] // f is referenced by the caller, so it is live
	switch op {
	case linux.EPOLL_CTL_ADD:
		if it != nil {
			return linux.EEXIST
		}
		it = &item{key: k}
		ep.items[k] = it
		ep.list = append(ep.list, it)
	case linux.EPOLL_CTL_MOD:
		if it == nil {
			return linux.ENOENT
		}
		if it.events&linux.EPOLLEXCLUSIVE != 0 {
			return linux.EINVAL
		}
	case linux.EPOLL_CTL_DEL:
		if it == nil {
			return linux.ENOENT
		}
		ep.removeLocked(it)
		ep.changedLocked()
		return nil
	default:
		return linux.EINVAL
	}
	it.events = ev.Events | linux.EPOLLERR | linux.EPOLLHUP
	it.data = ev.Data
	it.disabled = false
	it.armed = true
	it.since = nil
	ep.changedLocked()
	return nil
}

// checkNest fails with linux.ELOOP when watching in would make a cycle back
// to self or a chain of more than EP_MAX_NESTS instances. nestMu held.
func checkNest(in, self *Instance, depth int) error {
	if in == self || depth > linux.EP_MAX_NESTS {
		return linux.ELOOP
	}
	in.mu.Lock()
	var kids []*Instance
	for _, it := range in.list {
		if k, ok := it.file.Impl().(*Instance); ok {
			kids = append(kids, k)
		}
	}
	in.mu.Unlock()
	for _, k := range kids {
		if err := checkNest(k, self, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// removeLocked drops it from the interest list. ep.mu held.
func (ep *Instance) removeLocked(it *item) {
	delete(ep.items, it.key)
	for i, x := range ep.list {
		if x == it {
			ep.list = append(ep.list[:i], ep.list[i+1:]...)
			if ep.next > i {
				ep.next--
			}
			break
		}
	}
}

// collectLocked looks at every item, starting after the last one reported,
// and returns up to max ready events with the channels to sleep on until
// something may change. With consume it also applies the reporting rules
// (edge-triggered items disarm, one-shot items disable); without, it only
// peeks. Items whose files were closed are dropped. ep.mu held.
func (ep *Instance) collectLocked(max int, consume bool) ([]Event, []<-chan struct{}) {
	var evs []Event
	chans := []<-chan struct{}{ep.changed}
	var dead []*item
	n := len(ep.list)
	last := -1
	for i := 0; i < n; i++ {
		idx := (ep.next + i) % n
		it := ep.list[idx]
		if it.disabled {
			continue
		}
		f := it.file
		if !f.TryIncRef() {
			dead = append(dead, it)
			continue
		}
		et := it.events&linux.EPOLLET != 0
		if et && !it.armed && !isClosed(it.since) {
			chans = append(chans, it.since)
			f.DecRef()
			continue
		}
		ch := f.Notify()
		mask := it.events & pollBits
		r := f.Readiness(mask) & mask
		f.DecRef()
		chans = append(chans, ch)
		full := len(evs) >= max
		if r != 0 && !full {
			evs = append(evs, Event{Events: r, Data: it.data})
			last = idx
		}
		if consume && (r == 0 || !full) {
			if et {
				it.armed = false
				it.since = ch
			}
			if r != 0 && it.events&linux.EPOLLONESHOT != 0 {
				it.disabled = true
			}
		}
	}
	if consume && last >= 0 {
		ep.next = last + 1
	}
	for _, it := range dead {
		ep.removeLocked(it)
	}
	if n := len(ep.list); n > 0 {
		ep.next %= n
	} else {
		ep.next = 0
	}
	return evs, chans
}

// Poll returns up to max ready events without waiting, applying the
// level/edge/one-shot rules, and the channels that signal a change.
func (ep *Instance) Poll(max int) ([]Event, []<-chan struct{}) {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	return ep.collectLocked(max, true)
}

// Len returns the number of items in the interest list (closed files
// included until the next scan drops them).
func (ep *Instance) Len() int {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	return len(ep.list)
}
