package vfs

import (
	"sync"

	"bulwark.dev/pkg/abi/linux"
)

// MaxFDs is the fd limit (RLIMIT_NOFILE, fixed for now).
const MaxFDs = 1048576

// FDFlags are per-fd (not per-description) flags.
type FDFlags struct {
	CloseOnExec bool
}

type fdEntry struct {
	file  *File
	flags FDFlags
}

// FDTable maps fd numbers to files. Safe for concurrent use.
type FDTable struct {
	mu    sync.Mutex
	files []fdEntry // index = fd; nil file = free
}

// NewFDTable returns an empty table.
func NewFDTable() *FDTable { return &FDTable{} }

// Fork returns a copy sharing the same files (each gets a reference).
func (t *FDTable) Fork() *FDTable {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := &FDTable{files: append([]fdEntry(nil), t.files...)}
	for _, e := range n.files {
		if e.file != nil {
			e.file.IncRef()
		}
	}
	return n
}

// Get returns the file at fd with a new reference, or linux.EBADF.
func (t *FDTable) Get(fd int32) (*File, FDFlags, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if fd < 0 || int(fd) >= len(t.files) || t.files[fd].file == nil {
		return nil, FDFlags{}, linux.EBADF
	}
	e := t.files[fd]
	e.file.IncRef()
	return e.file, e.flags, nil
}

// NewFD installs f at the lowest free fd >= min (taking a reference).
func (t *FDTable) NewFD(min int32, f *File, flags FDFlags) (int32, error) {
	if min < 0 || min >= MaxFDs {
		return -1, linux.EINVAL
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	fd := int(min)
	for ; fd < len(t.files); fd++ {
		if t.files[fd].file == nil {
			break
		}
	}
	if fd >= MaxFDs {
		return -1, linux.EMFILE
	}
	t.grow(fd)
	f.IncRef()
	t.files[fd] = fdEntry{f, flags}
	return int32(fd), nil
}

func (t *FDTable) grow(fd int) {
	for len(t.files) <= fd {
		t.files = append(t.files, fdEntry{})
	}
}

// NewFDAt installs f at fd, closing what was there (dup2 semantics).
func (t *FDTable) NewFDAt(fd int32, f *File, flags FDFlags) error {
	if fd < 0 || fd >= MaxFDs {
		return linux.EBADF
	}
	f.IncRef()
	t.mu.Lock()
	t.grow(int(fd))
	old := t.files[fd].file
	t.files[fd] = fdEntry{f, flags}
	t.mu.Unlock()
	if old != nil {
		old.ReleasePOSIXLocks(t)
		old.DecRef()
	}
	return nil
}

// Remove removes fd and returns its file (the caller drops the reference).
func (t *FDTable) Remove(fd int32) (*File, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if fd < 0 || int(fd) >= len(t.files) || t.files[fd].file == nil {
		return nil, linux.EBADF
	}
	f := t.files[fd].file
	t.files[fd] = fdEntry{}
	f.ReleasePOSIXLocks(t)
	return f, nil
}

// SetFlags changes the fd flags of fd (F_SETFD).
func (t *FDTable) SetFlags(fd int32, flags FDFlags) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if fd < 0 || int(fd) >= len(t.files) || t.files[fd].file == nil {
		return linux.EBADF
	}
	t.files[fd].flags = flags
	return nil
}

// removeIf removes the fds in [lo, hi] for which pred holds, dropping
// their references outside the lock.
func (t *FDTable) removeIf(lo, hi int32, pred func(fdEntry) bool) {
	var drop []*File
	t.mu.Lock()
	for fd := int(lo); fd < len(t.files) && fd <= int(hi); fd++ {
		if e := t.files[fd]; e.file != nil && pred(e) {
			drop = append(drop, e.file)
			t.files[fd] = fdEntry{}
		}
	}
	t.mu.Unlock()
	for _, f := range drop {
		f.ReleasePOSIXLocks(t)
		f.DecRef()
	}
}

// CloseOnExec closes every fd marked close-on-exec.
func (t *FDTable) CloseOnExec() {
	t.removeIf(0, MaxFDs, func(e fdEntry) bool { return e.flags.CloseOnExec })
}

// CloseRange closes the fds in [lo, hi] (close_range(2)), or marks them
// close-on-exec when cloexec is set.
func (t *FDTable) CloseRange(lo, hi int32, cloexec bool) {
	if cloexec {
		t.mu.Lock()
		for fd := int(lo); fd < len(t.files) && fd <= int(hi); fd++ {
			if t.files[fd].file != nil {
				t.files[fd].flags.CloseOnExec = true
			}
		}
		t.mu.Unlock()
		return
	}
	t.removeIf(lo, hi, func(fdEntry) bool { return true })
}

// FDs returns the open fd numbers in ascending order.
func (t *FDTable) FDs() []int32 {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []int32
	for fd, e := range t.files {
		if e.file != nil {
			out = append(out, int32(fd))
		}
	}
	return out
}

// Release closes every fd.
func (t *FDTable) Release() {
	t.removeIf(0, MaxFDs, func(fdEntry) bool { return true })
}
