package vfs

import (
	"math"
	"reflect"
	"sync"
	"sync/atomic"

	"bulwark.dev/pkg/abi/linux"
)

// Advisory locks, as in Linux's fs/locks.c:
//   - flock(2) locks are owned by an open file description (*File) and
//     cover the whole file; they go away with the description's last
//     reference.
//   - POSIX record locks (fcntl F_SETLK) are owned by a process, which here
//     is its fd table (Linux's files_struct); closing any fd of the file
//     drops all of that process's locks on it.
//   - OFD record locks (F_OFD_SETLK) are owned by the *File and share the
//     byte-range space with POSIX locks.
//
// All lock state lives in one table under lockMu (never held while
// blocking). Lock order: FDTable.mu → lockMu (closes release POSIX locks
// with the fd table locked).

// RecordLock is a byte-range lock as fcntl(2) describes it, with an
// absolute start. Len 0 reaches to the end of the file (and beyond).
type RecordLock struct {
	Type  int16 // linux.F_RDLCK, F_WRLCK or F_UNLCK
	Start int64
	Len   int64
	PID   int32 // owner's pid (-1 for OFD locks), reported by F_GETLK
}

// heldLock is one lock in the table: [start, end) owned by owner.
type heldLock struct {
	owner      any // *FDTable (POSIX) or *File (OFD, flock)
	pid        int32
	typ        int16
	start, end int64
}

func (h heldLock) overlaps(start, end int64) bool { return h.start < end && start < h.end }

func conflicts(a heldLock, typ int16) bool { return a.typ == linux.F_WRLCK || typ == linux.F_WRLCK }

// inodeLocks are the locks on one inode.
type inodeLocks struct {
	records []heldLock    // POSIX and OFD locks
	flocks  []heldLock    // flock locks (whole file)
	changed chan struct{} // closed when a lock goes away
}

func (il *inodeLocks) notify() {
	close(il.changed)
	il.changed = make(chan struct{})
}

var (
	lockMu sync.Mutex
	// lockTable maps an inode to its locks, guarded by lockMu.
	lockTable = map[Inode]*inodeLocks{}
	// lockWaits maps a blocked POSIX owner to the owner it waits for
	// (EDEADLK detection), guarded by lockMu.
	lockWaits = map[any]any{}
	// lockedInodes counts lockTable's entries so closes can skip lockMu.
	lockedInodes atomic.Int64
)

// lockable reports whether in can be a map key (inodes are pointers in
// practice; a value type that is not comparable gets ENOLCK).
func lockable(in Inode) bool {
	return in != nil && reflect.TypeOf(in).Comparable()
}

// locksOfLocked returns in's entry, creating it. lockMu must be held.
func locksOfLocked(in Inode) *inodeLocks {
	il := lockTable[in]
	if il == nil {
		il = &inodeLocks{changed: make(chan struct{})}
		lockTable[in] = il
		lockedInodes.Add(1)
	}
	return il
}

// dropIfEmptyLocked forgets in's entry when it holds no lock.
func dropIfEmptyLocked(in Inode, il *inodeLocks) {
	if len(il.records) == 0 && len(il.flocks) == 0 {
		il.notify()
		delete(lockTable, in)
		lockedInodes.Add(-1)
	}
}

// LockRange converts fcntl's (whence, start, len) into an absolute
// RecordLock start and length (len < 0 covers the bytes before start).
func (f *File) LockRange(ctx Context, whence int16, start, length int64) (int64, int64, error) {
	var base int64
	switch int(whence) {
	case linux.SEEK_SET:
	case linux.SEEK_CUR:
		base = f.Offset()
	case linux.SEEK_END:
		a, err := f.inode.Stat(ctx)
		if err != nil {
			return 0, 0, err
		}
		base = a.Size
	default:
		return 0, 0, linux.EINVAL
	}
	s := base + start
	if s < 0 {
		return 0, 0, linux.EINVAL
	}
	if length < 0 {
		if s+length < 0 {
			return 0, 0, linux.EINVAL
		}
		s, length = s+length, -length
	}
	return s, length, nil
}

// span returns [start, end) of l.
func (l RecordLock) span() (int64, int64, error) {
	if l.Start < 0 {
		return 0, 0, linux.EINVAL
	}
	if l.Len == 0 || l.Start > math.MaxInt64-l.Len {
		return l.Start, math.MaxInt64, nil
	}
	return l.Start, l.Start + l.Len, nil
}

func toRecordLock(h heldLock) RecordLock {
	l := RecordLock{Type: h.typ, Start: h.start, PID: h.pid}
	if h.end != math.MaxInt64 {
		l.Len = h.end - h.start
	}
	return l
}

// recordOwner returns the owner of a record lock: the process's fd table
// for POSIX locks, the file itself for OFD locks (posix nil).
func (f *File) recordOwner(posix *FDTable) any {
	if posix != nil {
		return posix
	}
	return f
}

// TestRecordLock implements F_GETLK (posix set) and F_OFD_GETLK (posix
// nil): it returns the first lock that would conflict with l, or l with
// Type F_UNLCK when there is none.
func (f *File) TestRecordLock(ctx Context, posix *FDTable, l RecordLock) (RecordLock, error) {
	start, end, err := l.span()
	if err != nil {
		return RecordLock{}, err
	}
	if l.Type != linux.F_RDLCK && l.Type != linux.F_WRLCK {
		return RecordLock{}, linux.EINVAL
	}
	owner := f.recordOwner(posix)
	lockMu.Lock()
	defer lockMu.Unlock()
	if il := lockTable[f.inode]; il != nil {
		for _, h := range il.records {
			if h.owner != owner && h.overlaps(start, end) && conflicts(h, l.Type) {
				return toRecordLock(h), nil
			}
		}
	}
	l.Type = linux.F_UNLCK
	return l, nil
}

// SetRecordLock implements F_SETLK/F_SETLKW (posix is the caller's fd
// table, pid its thread group id) and F_OFD_SETLK/F_OFD_SETLKW (posix
// nil). With wait it blocks until the lock can be taken (interruptibly:
// linux.ERESTARTSYS), failing with linux.EDEADLK when two processes would
// wait for each other; without it a conflict fails with linux.EAGAIN.
func (f *File) SetRecordLock(ctx Context, posix *FDTable, pid int32, l RecordLock, wait bool) error {
	start, end, err := l.span()
	if err != nil {
		return err
	}
	switch l.Type {
	case linux.F_RDLCK:
		if !f.Readable() {
			return linux.EBADF
		}
	case linux.F_WRLCK:
		if !f.Writable() {
			return linux.EBADF
		}
	case linux.F_UNLCK:
	default:
		return linux.EINVAL
	}
	if !lockable(f.inode) {
		return linux.ENOLCK
	}
	owner := f.recordOwner(posix)
	if posix == nil {
		pid = -1
	}
	lockMu.Lock()
	defer lockMu.Unlock()
	for {
		il := locksOfLocked(f.inode)
		var blocker *heldLock
		if l.Type != linux.F_UNLCK {
			for i, h := range il.records {
				if h.owner != owner && h.overlaps(start, end) && conflicts(h, l.Type) {
					blocker = &il.records[i]
					break
				}
			}
		}
		if blocker == nil {
			il.records = replaceRange(il.records, heldLock{owner: owner, pid: pid, typ: l.Type, start: start, end: end})
			il.notify()
			dropIfEmptyLocked(f.inode, il)
			return nil
		}
		if !wait {
			dropIfEmptyLocked(f.inode, il)
			return linux.EAGAIN
		}
		if posix != nil && waitsFor(blocker.owner, owner) {
			return linux.EDEADLK
		}
		ch := il.changed
		lockWaits[owner] = blocker.owner
		lockMu.Unlock()
		err := ctx.Block(ch)
		lockMu.Lock()
		delete(lockWaits, owner)
		if err != nil {
			return err
		}
	}
}

// waitsFor reports whether from is (transitively) waiting for to. lockMu
// must be held.
func waitsFor(from, to any) bool {
	for i := 0; i < 64 && from != nil; i++ {
		if from == to {
			return true
		}
		from = lockWaits[from]
	}
	return false
}

// replaceRange removes n.owner's coverage of [n.start, n.end) from list
// (splitting locks that straddle it) and, unless n unlocks, adds n, merged
// with the owner's adjacent or overlapping locks of the same type.
func replaceRange(list []heldLock, n heldLock) []heldLock {
	out := list[:0:0]
	for _, h := range list {
		if h.owner != n.owner {
			out = append(out, h)
			continue
		}
		if n.typ != linux.F_UNLCK && h.typ == n.typ && h.start <= n.end && n.start <= h.end {
			// Merge into n.
			n.start, n.end = min(n.start, h.start), max(n.end, h.end)
			continue
		}
		if !h.overlaps(n.start, n.end) {
			out = append(out, h)
			continue
		}
		if h.start < n.start {
			left := h
			left.end = n.start
			out = append(out, left)
		}
		if h.end > n.end {
			right := h
			right.start = n.end
			out = append(out, right)
		}
	}
	if n.typ != linux.F_UNLCK {
		out = append(out, n)
	}
	return out
}

// Flock implements flock(2): op is LOCK_SH, LOCK_EX or LOCK_UN, optionally
// with LOCK_NB (then a conflict fails with linux.EWOULDBLOCK). Locks
// belong to the open file description; converting a lock drops the old
// one first, as in Linux.
func (f *File) Flock(ctx Context, op int) error {
	nb := op&linux.LOCK_NB != 0
	var typ int16
	switch op &^ linux.LOCK_NB {
	case linux.LOCK_SH:
		typ = linux.F_RDLCK
	case linux.LOCK_EX:
		typ = linux.F_WRLCK
	case linux.LOCK_UN:
		typ = linux.F_UNLCK
	default:
		return linux.EINVAL
	}
	if !lockable(f.inode) {
		return linux.ENOLCK
	}
	lockMu.Lock()
	defer lockMu.Unlock()
	il := locksOfLocked(f.inode)
	for i, h := range il.flocks {
		if h.owner == f {
			if h.typ == typ {
				return nil
			}
			il.flocks = append(il.flocks[:i], il.flocks[i+1:]...)
			il.notify()
			break
		}
	}
	for {
		if typ == linux.F_UNLCK {
			dropIfEmptyLocked(f.inode, il)
			return nil
		}
		busy := false
		for _, h := range il.flocks {
			if h.owner != f && conflicts(h, typ) {
				busy = true
				break
			}
		}
		if !busy {
			il.flocks = append(il.flocks, heldLock{owner: f, typ: typ, end: math.MaxInt64})
			return nil
		}
		if nb {
			dropIfEmptyLocked(f.inode, il)
			return linux.EWOULDBLOCK
		}
		ch := il.changed
		lockMu.Unlock()
		err := ctx.Block(ch)
		lockMu.Lock()
		il = locksOfLocked(f.inode)
		if err != nil {
			dropIfEmptyLocked(f.inode, il)
			return err
		}
	}
}

// releaseLocksOf drops every lock on in owned by owner (flock and record
// locks alike).
func releaseLocksOf(in Inode, owner any) {
	if lockedInodes.Load() == 0 || !lockable(in) {
		return
	}
	lockMu.Lock()
	defer lockMu.Unlock()
	il := lockTable[in]
	if il == nil {
		return
	}
	keep := func(list []heldLock) []heldLock {
		out := list[:0]
		for _, h := range list {
			if h.owner != owner {
				out = append(out, h)
			}
		}
		return out
	}
	il.records = keep(il.records)
	il.flocks = keep(il.flocks)
	il.notify()
	dropIfEmptyLocked(in, il)
}

// ReleasePOSIXLocks drops the POSIX record locks that the process owning
// table holds on f's inode (a close of any of its fds of the file).
func (f *File) ReleasePOSIXLocks(table *FDTable) { releaseLocksOf(f.inode, table) }

// releaseFileLocks drops the flock and OFD locks of f (its last close).
func (f *File) releaseFileLocks() { releaseLocksOf(f.inode, f) }
