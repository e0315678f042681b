package mm

import "bulwark.dev/pkg/abi/linux"

// Mremap implements mremap(2) (flags MREMAP_MAYMOVE and MREMAP_FIXED):
// it shrinks, grows in place when the pages above are free, or moves the
// mapping (the pages move with it, nothing is copied). [old, old+oldSize)
// must be mapped (linux.EFAULT otherwise). limitAS is RLIMIT_AS (0: no
// limit). oldSize 0 is not supported (linux.EINVAL).
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
	defer m.unlock()
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
// free, backed as mmap backs a new mapping: anonymous memory gets new
// zeroed pages, a file mapping the file's next pages.
func (m *MemoryManager) growLocked(addr, length uintptr) error {
	i := m.vmas.find(addr - 1)
	if i >= len(m.vmas) || m.vmas[i].end != addr {
		return linux.EFAULT
	}
	last := m.vmas[i]
	v := last
	v.start, v.end, v.cow = addr, addr+length, false
	if v.src != nil {
		v.fileOff = last.fileOff + int64(addr-last.start)
	}
	pieces, err := m.backLocked(v)
	if err != nil {
		return err
	}
	return m.insertLocked(pieces)
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
