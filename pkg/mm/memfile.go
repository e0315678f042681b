package mm

import (
	"fmt"
	"sort"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"bulwark.dev/pkg/abi/linux"
)

// MemoryFile is the memfd backing all application memory. The sandbox maps
// it whole into its own address space, so copy-in/out is a memory copy.
//
// Pages are handed out by Allocate with a reference count of one. IncRef
// shares them (shared mappings after fork); DecRef (or Free) drops
// references and returns pages that reach zero to the host with
// fallocate(PUNCH_HOLE), so the file stays sparse.
type MemoryFile struct {
	fd   int
	size int64
	data []byte // the whole file, mapped MAP_SHARED

	mu   sync.Mutex // guards used
	used []extent   // allocated ranges, sorted, disjoint, refs >= 1
}

// extent is a page-aligned range [off, end) of the file with one
// reference count.
type extent struct {
	off, end int64
	refs     int32
}

// NewMemoryFile creates a memory file of (sparse) size bytes.
func NewMemoryFile(name string, size int64) (*MemoryFile, error) {
	if size <= 0 || size%linux.PageSize != 0 {
		return nil, fmt.Errorf("memory file size %d is not a positive multiple of the page size", size)
	}
	fd, err := unix.MemfdCreate(name, unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("creating memory file %q: %w", name, err)
	}
	if err := unix.Ftruncate(fd, size); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("sizing memory file %q to %d bytes: %w", name, size, err)
	}
	data, err := unix.Mmap(fd, 0, int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_NORESERVE)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("mapping memory file %q: %w", name, err)
	}
	f := &MemoryFile{fd: fd, size: size, data: data}
	defaultFile.CompareAndSwap(nil, f)
	return f, nil
}

// defaultFile is the first memory file created in the process (the
// sandbox's only one), while it is open.
var defaultFile atomic.Pointer[MemoryFile]

// defaultSize is the size of a memory file DefaultMemoryFile creates.
const defaultSize = 16 << 30

// DefaultMemoryFile returns the process's main memory file: the first one
// NewMemoryFile created that is still open, else a new one. Filesystems
// that keep data in the memory file (tmpfs) use it when not given one, so
// their pages can be mapped into application address spaces.
func DefaultMemoryFile() (*MemoryFile, error) {
	if f := defaultFile.Load(); f != nil {
		return f, nil
	}
	f, err := NewMemoryFile("bulwark-memory", defaultSize)
	if err != nil {
		return nil, err
	}
	if d := defaultFile.Load(); d != nil && d != f {
		f.Close() // lost a race: use the winner
		return d, nil
	}
	return f, nil
}

// FD is the host fd of the memfd (for the platform, which maps it into stubs).
func (f *MemoryFile) FD() int { return f.fd }

// Close unmaps and closes the file.
func (f *MemoryFile) Close() {
	defaultFile.CompareAndSwap(f, nil)
	if f.data != nil {
		unix.Munmap(f.data)
		f.data = nil
	}
	if f.fd >= 0 {
		unix.Close(f.fd)
		f.fd = -1
	}
}

// Bytes returns the file's bytes [off, off+length) as a slice of the
// sandbox's mapping, or an error when the range is outside the file.
func (f *MemoryFile) Bytes(off, length int64) ([]byte, error) {
	if off < 0 || length < 0 || off > f.size || length > f.size-off || f.data == nil {
		return nil, fmt.Errorf("memory file range %#x+%#x outside the file", off, length)
	}
	return f.data[off : off+length : off+length], nil
}

// Allocate returns the offset of length bytes (rounded up to pages) of
// zeroed, unused file space with a reference count of one (linux.ENOMEM when
// the file is full).
func (f *MemoryFile) Allocate(length int64) (int64, error) {
	if length <= 0 {
		return 0, linux.EINVAL
	}
	length = (length + linux.PageSize - 1) &^ (linux.PageSize - 1)
	f.mu.Lock()
	defer f.mu.Unlock()
	prev := int64(0)
	for i, e := range f.used {
		if e.off-prev >= length {
			f.insert(i, extent{prev, prev + length, 1})
			return prev, nil
		}
		prev = e.end
	}
	if f.size-prev >= length {
		f.insert(len(f.used), extent{prev, prev + length, 1})
		return prev, nil
	}
	return 0, linux.ENOMEM
}

// IncRef adds a reference to the allocated range [off, off+length).
func (f *MemoryFile) IncRef(off, length int64) error {
	return f.adjust(off, length, 1)
}

// DecRef drops a reference to the allocated range [off, off+length); pages
// with no references left are freed.
func (f *MemoryFile) DecRef(off, length int64) error {
	return f.adjust(off, length, -1)
}

// Free is DecRef: it releases the caller's reference.
func (f *MemoryFile) Free(off, length int64) error { return f.DecRef(off, length) }

// adjust adds delta to the reference count of every page in the range,
// which must be allocated, and frees pages that drop to zero.
func (f *MemoryFile) adjust(off, length int64, delta int32) error {
	end := off + length
	if off < 0 || length <= 0 || off%linux.PageSize != 0 || end%linux.PageSize != 0 || end > f.size {
		return fmt.Errorf("memory file: bad range %#x+%#x", off, length)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.split(off)
	f.split(end)
	i := sort.Search(len(f.used), func(i int) bool { return f.used[i].off >= off })
	j := i
	for pos := off; pos < end; j++ {
		if j >= len(f.used) || f.used[j].off != pos {
			f.merge()
			return fmt.Errorf("memory file: range %#x+%#x is not allocated", off, length)
		}
		pos = f.used[j].end
	}
	var freed []extent
	kept := f.used[:i]
	for _, e := range f.used[i:j] {
		e.refs += delta
		if e.refs > 0 {
			kept = append(kept, e)
		} else {
			freed = append(freed, e)
		}
	}
	f.used = append(kept, f.used[j:]...)
	f.merge()
	for _, e := range freed {
		if err := unix.Fallocate(f.fd, unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, e.off, e.end-e.off); err != nil {
			return fmt.Errorf("returning memory file range %#x-%#x: %w", e.off, e.end, err)
		}
	}
	return nil
}

// insert puts e at index i of used and merges it with equal neighbours.
func (f *MemoryFile) insert(i int, e extent) {
	f.used = append(f.used, extent{})
	copy(f.used[i+1:], f.used[i:])
	f.used[i] = e
	f.merge()
}

// split makes pos a boundary between extents if an extent spans it.
func (f *MemoryFile) split(pos int64) {
	i := sort.Search(len(f.used), func(i int) bool { return f.used[i].end > pos })
	if i == len(f.used) || f.used[i].off >= pos {
		return
	}
	e := f.used[i]
	f.used = append(f.used, extent{})
	copy(f.used[i+1:], f.used[i:])
	f.used[i] = extent{e.off, pos, e.refs}
	f.used[i+1] = extent{pos, e.end, e.refs}
}

// merge joins adjacent extents with equal reference counts.
func (f *MemoryFile) merge() {
	out := f.used[:0]
	for _, e := range f.used {
		if n := len(out); n > 0 && out[n-1].end == e.off && out[n-1].refs == e.refs {
			out[n-1].end = e.end
			continue
		}
		out = append(out, e)
	}
	f.used = out
}

// run returns the reference count of the page at off and the file range
// [start, end) around it whose pages all have that count (0 when the page
// is not allocated).
func (f *MemoryFile) run(off int64) (refs int32, start, end int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	i := sort.Search(len(f.used), func(i int) bool { return f.used[i].end > off })
	if i == len(f.used) || f.used[i].off > off {
		return 0, off, off
	}
	e := f.used[i]
	return e.refs, e.off, e.end
}

// UsedBytes returns how many bytes of the file are allocated.
func (f *MemoryFile) UsedBytes() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	var n int64
	for _, e := range f.used {
		n += e.end - e.off
	}
	return n
}

// Decommit zeroes the allocated range [off, off+length) by returning its
// pages to the host (they read back as zeros); reference counts do not
// change. The range must be page aligned.
func (f *MemoryFile) Decommit(off, length int64) error {
	if off < 0 || length <= 0 || off%linux.PageSize != 0 || length%linux.PageSize != 0 || off+length > f.size {
		return fmt.Errorf("memory file: bad range %#x+%#x", off, length)
	}
	if err := unix.Fallocate(f.fd, unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, off, length); err != nil {
		return fmt.Errorf("decommitting memory file range %#x+%#x: %w", off, length, err)
	}
	return nil
}

// Populate prepares the allocated range [off, off+length), which the
// caller is about to fill, for writing: the host allocates its pages and
// maps them in the sandbox's view in one call, rather than a page fault
// per page (several times slower on a virtual machine). It is only a
// hint: failure (an older host kernel) is ignored.
func (f *MemoryFile) Populate(off, length int64) {
	b, err := f.Bytes(off, length)
	if err != nil || length == 0 {
		return
	}
	unix.Madvise(b, unix.MADV_POPULATE_WRITE)
}
