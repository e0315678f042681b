package mm

import (
	"errors"
	"io"

	"bulwark.dev/pkg/abi/linux"
)

// Mappable is the source of a file-backed mapping (an open file). Private
// mappings copy its bytes into the memory file when mapped.
type Mappable interface {
	// ReadAt reads like io.ReaderAt (short reads at EOF return io.EOF or n < len).
	ReadAt(p []byte, off int64) (int, error)
	// Name is the path shown in /proc/[pid]/maps.
	Name() string
}

// MMapOpts are the arguments of one mmap.
type MMapOpts struct {
	Addr      uintptr // hint, or the exact address with Fixed
	Length    uintptr
	Prot      int // PROT_*
	Private   bool
	Fixed     bool // MAP_FIXED: replace existing mappings
	NoReplace bool // MAP_FIXED_NOREPLACE (implies Fixed, fails with EEXIST)
	GrowsDown bool
	Mappable  Mappable // nil for anonymous memory
	Offset    int64
	Name      string // for anonymous special mappings, e.g. "[stack]"
}

// protMask is the set of PROT_* bits mmap and mprotect accept;
// PROT_GROWSDOWN/UP are accepted by mprotect and ignored.
const protMask = linux.PROT_READ | linux.PROT_WRITE | linux.PROT_EXEC

// MMap creates a mapping and returns its address (linux.ENOMEM, EINVAL, ...).
//
// File mappings are snapshots: the file's bytes are copied in at mmap time
// (zero past EOF). A shared file mapping therefore cannot be writable
// (linux.ENODEV) until the VFS can share page caches.
func (m *MemoryManager) MMap(o MMapOpts) (uintptr, error) {
	if o.Length == 0 || o.Prot&^protMask != 0 || o.Offset < 0 || o.Offset%linux.PageSize != 0 {
		return 0, linux.EINVAL
	}
	length, ok := pageUp(o.Length)
	if !ok {
		return 0, linux.ENOMEM
	}
	if o.Mappable != nil && !o.Private && o.Prot&linux.PROT_WRITE != 0 {
		return 0, linux.ENODEV
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.released {
		return 0, linux.ENOMEM
	}
	fixed := o.Fixed || o.NoReplace
	addr, err := m.place(o.Addr, length, fixed)
	if err != nil {
		return 0, err
	}
	if o.NoReplace && m.vmas.overlaps(addr, addr+length) {
		return 0, linux.EEXIST
	}
	v := vma{
		start:     addr,
		end:       addr + length,
		prot:      o.Prot,
		shared:    !o.Private,
		growsDown: o.GrowsDown,
		name:      o.Name,
	}
	if o.Mappable != nil {
		v.file, v.name, v.fileOff = true, o.Mappable.Name(), o.Offset
		if id, ok := o.Mappable.(FileIdentity); ok {
			v.devMajor, v.devMinor, v.ino = id.DeviceInode()
		}
	}
	if v.off, err = m.mf.Allocate(int64(length)); err != nil {
		return 0, err
	}
	if o.Mappable != nil {
		if err := m.fill(v.off, int64(length), o.Mappable, o.Offset); err != nil {
			m.mf.Free(v.off, int64(length))
			return 0, err
		}
	}
	if fixed {
		m.removeLocked(addr, addr+length)
	}
	m.vmas.insert(v)
	if err := m.as.MapFile(v.start, length, v.off, v.prot); err != nil {
		m.removeLocked(addr, addr+length)
		return 0, linux.ENOMEM
	}
	return addr, nil
}

// place chooses the address of a new mapping of length bytes.
func (m *MemoryManager) place(hint, length uintptr, fixed bool) (uintptr, error) {
	lo, hi := m.p.MinUserAddress(), m.p.MaxUserAddress()
	if fixed {
		if hint%linux.PageSize != 0 {
			return 0, linux.EINVAL
		}
		if hint+length < hint || hint+length > hi {
			return 0, linux.ENOMEM
		}
		if hint < lo {
			return 0, linux.EPERM
		}
		return hint, nil
	}
	if hint != 0 {
		h := pageDown(hint)
		if h >= lo && h+length > h && h+length <= hi && !m.vmas.overlaps(h, h+length) {
			return h, nil
		}
	}
	if length > hi-lo {
		return 0, linux.ENOMEM
	}
	if a, ok := m.vmas.topDown(length, lo, hi-mmapGap); ok {
		return a, nil
	}
	if a, ok := m.vmas.topDown(length, lo, hi); ok {
		return a, nil
	}
	return 0, linux.ENOMEM
}

// fill copies length bytes of the file at fileOff into the memory file at
// off; bytes past the end of the file stay zero.
func (m *MemoryManager) fill(off, length int64, src Mappable, fileOff int64) error {
	dst, err := m.mf.Bytes(off, length)
	if err != nil {
		return linux.ENOMEM
	}
	for done := 0; done < len(dst); {
		n, err := src.ReadAt(dst[done:], fileOff+int64(done))
		done += n
		if errors.Is(err, io.EOF) || (err == nil && n == 0) {
			return nil
		}
		if err != nil {
			var e linux.Errno
			if errors.As(err, &e) {
				return e
			}
			return linux.EIO
		}
	}
	return nil
}

// removeLocked cuts [start, end) out of the vmas and releases their memory.
// The caller updates the platform.
func (m *MemoryManager) removeLocked(start, end uintptr) {
	for _, v := range m.vmas.remove(start, end) {
		m.mf.DecRef(v.off, int64(v.length()))
	}
}

// Munmap removes mappings in [addr, addr+length).
func (m *MemoryManager) Munmap(addr, length uintptr) error {
	end, ok := pageUp(addr + length)
	if addr%linux.PageSize != 0 || length == 0 || !ok || addr+length < addr || end > m.p.MaxUserAddress() {
		return linux.EINVAL
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.vmas.overlaps(addr, end) {
		return nil
	}
	m.removeLocked(addr, end)
	if err := m.as.Unmap(addr, end-addr); err != nil {
		return linux.ENOMEM
	}
	return nil
}

// Mprotect changes protections in [addr, addr+length): linux.ENOMEM if part
// of the range is unmapped, linux.EACCES to make a shared file mapping
// writable.
func (m *MemoryManager) Mprotect(addr, length uintptr, prot int) error {
	prot &^= linux.PROT_GROWSDOWN | linux.PROT_GROWSUP
	if addr%linux.PageSize != 0 || prot&^protMask != 0 {
		return linux.EINVAL
	}
	if length == 0 {
		return nil
	}
	end, ok := pageUp(addr + length)
	if !ok || addr+length < addr {
		return linux.ENOMEM
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.vmas.covered(addr, end) {
		return linux.ENOMEM
	}
	i, j := m.vmas.span(addr, end)
	for k := i; k < j; k++ {
		if v := m.vmas[k]; v.file && v.shared && prot&linux.PROT_WRITE != 0 {
			return linux.EACCES
		}
	}
	for k := i; k < j; k++ {
		m.vmas[k].prot = prot
	}
	if err := m.as.Protect(addr, end-addr, prot); err != nil {
		return linux.ENOMEM
	}
	return nil
}

// SetBrkStart sets the start (and current end) of the heap; the loader calls
// it with the end of the executable's data.
func (m *MemoryManager) SetBrkStart(addr uintptr) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.brkStart, m.brk = addr, addr
}

// Brk implements brk(2): it moves the break to addr if possible and returns
// the (new or unchanged) break. Brk(0) returns the current break. The heap
// is anonymous private read-write memory named "[heap]"; growing fails when
// it would run into another mapping.
func (m *MemoryManager) Brk(addr uintptr) uintptr {
	m.mu.Lock()
	defer m.mu.Unlock()
	if addr < m.brkStart || m.released {
		return m.brk
	}
	oldTop, _ := pageUp(m.brk)
	newTop, ok := pageUp(addr)
	if !ok || newTop > m.p.MaxUserAddress() {
		return m.brk
	}
	switch {
	case newTop > oldTop:
		if m.vmas.overlaps(oldTop, newTop) {
			return m.brk
		}
		v := vma{start: oldTop, end: newTop, prot: linux.PROT_READ | linux.PROT_WRITE, name: "[heap]"}
		off, err := m.mf.Allocate(int64(v.length()))
		if err != nil {
			return m.brk
		}
		v.off = off
		m.vmas.insert(v)
		if err := m.as.MapFile(v.start, v.length(), v.off, v.prot); err != nil {
			m.removeLocked(v.start, v.end)
			return m.brk
		}
	case newTop < oldTop:
		m.removeLocked(newTop, oldTop)
		if err := m.as.Unmap(newTop, oldTop-newTop); err != nil {
			return m.brk
		}
	}
	m.brk = addr
	return addr
}
