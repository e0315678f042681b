package mm

import (
	"fmt"

	"bulwark.dev/pkg/abi/linux"
)

// Mremap implements mremap(2) (flags MREMAP_MAYMOVE and MREMAP_FIXED):
// it shrinks, grows in place when the pages above are free, or moves the
// mapping (the pages move with it, nothing is copied). [old, old+oldSize)
// must be mapped (linux.EFAULT otherwise). limitAS is RLIMIT_AS (0: no
// limit). Growing a private file mapping is not supported (linux.ENOMEM)
// nor is oldSize 0 (linux.EINVAL).
func (m *MemoryManager) Mremap(old, oldSize, newSize uintptr, flags int, newAddr uintptr, limitAS uint64) (uintptr, error) {
	if flags&^(linux.MREMAP_MAYMOVE|linux.MREMAP_FIXED) != 0 || old%linux.PageSize != 0 ||
		(flags&linux.MREMAP_FIXED != 0 && flags&linux.MREMAP_MAYMOVE == 0) {
		return 0, linux.EINVAL
	}
	oldSize, ok1 := pageUp(oldSize)
	newSize, ok2 := pageUp(newSize)
	if !ok1 || !ok2 || newSize == 0 || oldSize == 0 {
		return 0, linux.EINVAL
	}
	fixed := flags&linux.MREMAP_FIXED != 0
	hi := m.p.MaxUserAddress()
	if fixed {
		if newAddr%linux.PageSize != 0 || newAddr+newSize < newAddr || newAddr+newSize > hi {
			return 0, linux.EINVAL
		}
		if newAddr < old+oldSize && old < newAddr+newSize {
			return 0, linux.EINVAL
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if old+oldSize < old || !m.vmas.covered(old, old+oldSize) {
		return 0, linux.EFAULT
	}
	if newSize > oldSize && limitAS != 0 && m.sizeLocked()+uint64(newSize-oldSize) > limitAS {
		return 0, linux.ENOMEM
	}
	if !fixed {
		if newSize <= oldSize {
			m.unmapLocked(old+newSize, old+oldSize)
			return old, nil
		}
		end := old + newSize
		if end > old && end <= hi && !m.vmas.overlaps(old+oldSize, end) {
			if err := m.growLocked(old+oldSize, newSize-oldSize); err != nil {
				return 0, err
			}
			return old, nil
		}
		if flags&linux.MREMAP_MAYMOVE == 0 {
			return 0, linux.ENOMEM
		}
	}
	dst := newAddr
	if fixed {
		m.unmapLocked(dst, dst+newSize)
	} else {
		a, err := m.place(0, newSize, false)
		if err != nil {
			return 0, err
		}
		dst = a
	}
	keep := min(oldSize, newSize)
	if oldSize > keep {
		m.unmapLocked(old+keep, old+oldSize)
	}
	moved := m.vmas.remove(old, old+keep)
	m.as.Unmap(old, keep)
	for i := range moved {
		d := moved[i].start - old
		moved[i].end = dst + (moved[i].end - moved[i].start) + d
		moved[i].start = dst + d
	}
	if err := m.insertLocked(moved); err != nil {
		return 0, err
	}
	if newSize > keep {
		if err := m.growLocked(dst+keep, newSize-keep); err != nil {
			m.unmapLocked(dst, dst+keep)
			return 0, err
		}
	}
	return dst, nil
}

// unmapLocked removes [start, end) from the address space.
func (m *MemoryManager) unmapLocked(start, end uintptr) {
	if start >= end || !m.vmas.overlaps(start, end) {
		return
	}
	m.removeLocked(start, end)
	m.as.Unmap(start, end-start)
}

// growLocked extends the vma ending at addr by length bytes, which are
// free: anonymous memory gets new zeroed pages, a shared file mapping the
// file's next pages.
func (m *MemoryManager) growLocked(addr, length uintptr) error {
	i := m.vmas.find(addr - 1)
	if i >= len(m.vmas) || m.vmas[i].end != addr {
		return linux.EFAULT
	}
	last := m.vmas[i]
	v := last.from(last.start) // a copy with the same attributes
	v.start, v.end, v.cow = addr, addr+length, false
	if v.file {
		v.fileOff = last.fileOff + int64(addr-last.start)
	}
	switch {
	case v.src != nil:
		pieces, err := backedPieces(v, v.src)
		if err != nil {
			return err
		}
		return m.insertLocked(pieces)
	case v.file:
		return linux.ENOMEM
	}
	off, err := m.mf.Allocate(int64(length))
	if err != nil {
		return err
	}
	v.off = off
	return m.insertLocked([]vma{v})
}

// Decommit implements madvise(MADV_DONTNEED): private anonymous memory in
// [addr, addr+length) reads as zeros afterwards. Shared memory keeps its
// contents, as shmem does; private file mappings keep theirs too (Linux
// would re-read the file). linux.ENOMEM if part of the range is unmapped
// (the mapped part is still done).
func (m *MemoryManager) Decommit(addr, length uintptr) error {
	end, ok := pageUp(addr + length)
	if addr%linux.PageSize != 0 || !ok || addr+length < addr {
		return linux.EINVAL
	}
	if length == 0 {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for pos := addr; pos < end; {
		i := m.vmas.find(pos)
		if i == len(m.vmas) || m.vmas[i].start >= end {
			break
		}
		v := m.vmas[i]
		lo := max(pos, v.start)
		hi := min(end, v.end)
		pos = hi
		if v.shared || v.file {
			continue
		}
		if err := m.decommitLocked(v, lo, hi); err != nil {
			return linux.EIO
		}
	}
	if !m.vmas.covered(addr, end) {
		return linux.ENOMEM
	}
	return nil
}

// decommitLocked zeroes [lo, hi) of private anonymous vma v: pages it holds
// alone go back to the host, copy-on-write pages still shared are replaced
// by new zeroed ones.
func (m *MemoryManager) decommitLocked(v vma, lo, hi uintptr) error {
	if !v.cow {
		return m.mf.Decommit(v.off+int64(lo-v.start), int64(hi-lo))
	}
	for pos := lo; pos < hi; {
		off := v.off + int64(pos-v.start)
		refs, _, runEnd := m.mf.run(off)
		if refs == 0 {
			return fmt.Errorf("memory file page %#x of %#x is not allocated", off, pos)
		}
		next := min(hi, pos+uintptr(runEnd-off))
		var err error
		if refs == 1 {
			err = m.mf.Decommit(off, int64(next-pos))
		} else {
			err = m.replaceLocked(pos, next)
		}
		if err != nil {
			return err
		}
		pos = next
	}
	return nil
}

// Mapped reports whether all of [addr, addr+length) is mapped (for
// mincore, msync and mlock, which fail with ENOMEM otherwise).
func (m *MemoryManager) Mapped(addr, length uintptr) bool {
	end, ok := pageUp(addr + length)
	if !ok || addr+length < addr {
		return false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.vmas.covered(addr, end)
}

// MemoryFile returns the memory file backing the address space.
func (m *MemoryManager) MemoryFile() *MemoryFile { return m.mf }
