package mm

import (
	"errors"
	"fmt"

	"bulwark.dev/pkg/abi/linux"
)

// Decommit implements madvise(MADV_DONTNEED) on [addr, addr+length): the
// process's private pages are dropped, so that the range reads what it
// would if it had never been written. Private anonymous memory reads as
// zeros; a private file mapping reads the file's current bytes again (the
// file's own pages shared copy-on-write when it keeps them in the memory
// file, a new copy of its bytes otherwise). Shared memory keeps its
// contents, as shmem and shared file mappings do on Linux. linux.ENOMEM if
// part of the range is unmapped (the mapped part is still done).
func (m *MemoryManager) Decommit(addr, length uintptr) error {
	end, ok := pageUp(addr + length)
	if addr%linux.PageSize != 0 || !ok || addr+length < addr {
		return linux.EINVAL
	}
	if length == 0 {
		return nil
	}
	m.mu.Lock()
	defer m.unlock()
	for pos := addr; pos < end; {
		i := m.vmas.find(pos)
		if i == len(m.vmas) || m.vmas[i].start >= end {
			break
		}
		v := m.vmas[i]
		lo := max(pos, v.start)
		hi := min(end, v.end)
		pos = hi
		var err error
		switch {
		case v.shared:
			continue
		case v.src != nil:
			err = m.restoreLocked(v, lo, hi)
		default:
			err = m.decommitLocked(v, lo, hi)
		}
		if err != nil {
			var e linux.Errno
			if errors.As(err, &e) {
				return e
			}
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

// restoreLocked gives [lo, hi) of private file vma v the file's current
// bytes again, as mmap would back a new mapping of them, and drops the
// pages it had (the process's copies, or the file's pages).
func (m *MemoryManager) restoreLocked(v vma, lo, hi uintptr) error {
	w := v
	w.start, w.end, w.cow = lo, hi, false
	w.fileOff = v.fileOff + int64(lo-v.start)
	pieces, err := m.backLocked(w)
	if err != nil {
		return fmt.Errorf("reading %s at %#x for %#x-%#x: %w", v.name, w.fileOff, lo, hi, err)
	}
	// The new pieces hold the source, so it is not released meanwhile.
	m.removeLocked(lo, hi)
	return m.insertLocked(pieces)
}
