package mm

import (
	"fmt"

	"bulwark.dev/pkg/abi/linux"
)

// Copy-on-write.
//
// Fork does not copy private memory: the child's vmas reference the
// parent's memory file pages (one reference each) and both sides mark the
// vmas cow, which maps them without PROT_WRITE in the platform. A vma's
// prot stays the application's view (mprotect, /proc/[pid]/maps); hostProt
// is what the platform maps.
//
// A page is unshared when it is written: by the application (a write fault,
// HandleFault), by the kernel (CopyOut, futex writes) or replaced
// (madvise(MADV_DONTNEED)). A page whose only reference is this address
// space's own is just made writable; a page still referenced elsewhere is
// copied into a new page first. Invariant: a private vma that is not cow
// holds its pages alone, so the kernel may write them in place.

// hostProt returns the protection v's pages have in the platform.
func (v *vma) hostProt() int {
	if v.cow {
		return v.prot &^ linux.PROT_WRITE
	}
	return v.prot
}

// HandleFault resolves a fault the platform reported at addr, when it can:
// write says the fault was an access violation on a present page and may
// be a write. It returns true when the thread should retry the access (a
// copy-on-write page was unshared, or another thread of the address space
// did so first) and false when the fault is the application's, to become a
// signal; err is set when unsharing failed (memory exhausted).
func (m *MemoryManager) HandleFault(addr uintptr, write bool) (handled bool, err error) {
	if !write {
		return false, nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	i := m.vmas.find(addr)
	if i == len(m.vmas) || m.vmas[i].start > addr || m.vmas[i].prot&linux.PROT_WRITE == 0 {
		return false, nil
	}
	v := &m.vmas[i]
	page := pageDown(addr)
	if !v.cow {
		// Unshared since the fault (by another thread, or a failed fork
		// left it read-only): make the platform agree and retry.
		if err := m.as.Protect(page, linux.PageSize, v.prot); err != nil {
			return false, fmt.Errorf("unprotecting %#x: %w", page, err)
		}
		return true, nil
	}
	start, end := page, page+linux.PageSize
	refs, lo, hi := m.mf.run(v.off + int64(page-v.start))
	if refs == 1 {
		// Nobody else holds these pages any more (the other side exited
		// or exec'd): make the whole run writable in one go.
		vEnd := v.off + int64(v.length())
		start = v.start + uintptr(max(lo, v.off)-v.off)
		end = v.start + uintptr(min(hi, vEnd)-v.off)
	}
	if err := m.unshareLocked(start, end, true); err != nil {
		return false, err
	}
	return true, nil
}

// unshareLocked gives the address space pages of its own for the cow vmas
// in [start, end) (page aligned): pages others still reference are copied
// and mapped writable. Pages only it references are made writable in the
// platform when remapOwn is set, and left as they are otherwise (the
// kernel may write them in place; a later write fault remaps them).
func (m *MemoryManager) unshareLocked(start, end uintptr, remapOwn bool) error {
	for pos := start; pos < end; {
		i := m.vmas.find(pos)
		if i == len(m.vmas) || m.vmas[i].start >= end {
			return nil
		}
		v := m.vmas[i]
		pos = max(pos, v.start)
		if !v.cow {
			pos = v.end
			continue
		}
		refs, _, hi := m.mf.run(v.off + int64(pos-v.start))
		if refs == 0 {
			return fmt.Errorf("unsharing %#x: memory file page %#x is not allocated", pos, v.off+int64(pos-v.start))
		}
		runEnd := min(end, v.end, v.start+uintptr(hi-v.off))
		if refs > 1 || remapOwn {
			if err := m.unshareRunLocked(pos, runEnd, refs > 1); err != nil {
				return err
			}
		}
		pos = runEnd
	}
	return nil
}

// unshareRunLocked makes [start, end), part of one cow vma, writable and
// not cow, copying its pages first when dup is set.
func (m *MemoryManager) unshareRunLocked(start, end uintptr, dup bool) error {
	i, _ := m.vmas.span(start, end)
	v := &m.vmas[i]
	n := int64(end - start)
	if dup {
		off, err := m.mf.Allocate(n)
		if err != nil {
			return err
		}
		if err := m.mf.copyData(off, v.off, n); err != nil {
			m.mf.Free(off, n)
			return err
		}
		if err := m.as.MapFile(start, end-start, off, v.prot); err != nil {
			m.mf.Free(off, n)
			return fmt.Errorf("mapping the copy of %#x-%#x: %w", start, end, err)
		}
		// Only now: the other holder may write the old pages in place as
		// soon as it sees it holds them alone.
		if err := m.mf.DecRef(v.off, n); err != nil {
			return err
		}
		v.off = off
	} else if err := m.as.Protect(start, end-start, v.prot); err != nil {
		return fmt.Errorf("unprotecting %#x-%#x: %w", start, end, err)
	}
	v.cow = false
	m.vmas.mergeAround(i)
	return nil
}

// writableLocked unshares the cow pages the kernel is about to write in
// [addr, addr+length): those of the writable vmas mapped contiguously from
// addr (the write stops at the first other one with EFAULT anyway).
func (m *MemoryManager) writableLocked(addr, length uintptr) error {
	end := addr + length
	if end < addr || length == 0 {
		return nil
	}
	stop, cow := addr, false
	for i := m.vmas.find(addr); i < len(m.vmas) && stop < end; i++ {
		v := &m.vmas[i]
		if v.start > stop || v.prot&linux.PROT_WRITE == 0 {
			break
		}
		cow = cow || v.cow
		stop = v.end
	}
	if !cow || stop <= addr {
		return nil
	}
	hi, _ := pageUp(min(stop, end))
	return m.unshareLocked(pageDown(addr), hi, false)
}

// replaceLocked gives [start, end), part of one cow vma, fresh zeroed
// pages (madvise(MADV_DONTNEED) of pages others still reference).
func (m *MemoryManager) replaceLocked(start, end uintptr) error {
	n := int64(end - start)
	off, err := m.mf.Allocate(n)
	if err != nil {
		return err
	}
	i, _ := m.vmas.span(start, end)
	v := &m.vmas[i]
	if err := m.as.MapFile(start, end-start, off, v.prot); err != nil {
		m.mf.Free(off, n)
		return fmt.Errorf("mapping new pages at %#x-%#x: %w", start, end, err)
	}
	if err := m.mf.DecRef(v.off, n); err != nil {
		return err
	}
	v.off, v.cow = off, false
	m.vmas.mergeAround(i)
	return nil
}

// mergeAround joins the private vma at i with its neighbours when they
// continue it exactly (same attributes, contiguous memory file pages), so
// that unsharing page by page does not leave a vma per page.
func (s *vmaSet) mergeAround(i int) {
	if i+1 < len(*s) && continues(&(*s)[i], &(*s)[i+1]) {
		(*s)[i].end = (*s)[i+1].end
		*s = append((*s)[:i+1], (*s)[i+2:]...)
	}
	if i > 0 && continues(&(*s)[i-1], &(*s)[i]) {
		(*s)[i-1].end = (*s)[i].end
		*s = append((*s)[:i], (*s)[i+1:]...)
	}
}

// continues reports whether private vma b is the continuation of a.
func continues(a, b *vma) bool {
	if a.shared || b.shared || a.end != b.start {
		return false
	}
	want := *a
	want.start, want.end = b.start, b.end
	want.off += int64(a.length())
	if want.src != nil {
		want.fileOff += int64(a.length())
	}
	return want == *b
}
