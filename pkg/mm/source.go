package mm

import (
	"sync/atomic"

	"bulwark.dev/pkg/abi/linux"
)

// Sources of file mappings.
//
// Every vma of a file mapping names its file (a source), shared by all the
// vmas made from one mmap, in every address space forked from it: a shared
// mapping grows from it (mremap), a private one reads it again when
// madvise(MADV_DONTNEED) drops the process's changes. A source counts the
// pages of the vmas that name it, the way the memory file counts page
// references: a vma holds its pages' worth from the moment it is created
// (mmap, mremap growth, fork) until it is removed (munmap, replacement,
// release), and splitting, merging or moving vmas changes nothing. A
// RefCounted file gets one reference for as long as the count is not zero,
// as Linux's mappings hold their file open.

// RefCounted is implemented by a Mappable that must stay open while
// mappings use it: MMap takes one reference (IncRef) for the mappings it
// makes, and drops it (DecRef) when the last of them, in any address
// space, goes away. DecRef is never called with an address space lock
// held, so it may take the file's own locks and do I/O.
type RefCounted interface {
	IncRef()
	DecRef()
}

// source is the file of a file mapping.
type source struct {
	Mappable
	pages atomic.Int64 // pages of the vmas naming it, in all address spaces
}

// newSource returns the source of new mappings of mp, with a reference
// on mp when it is RefCounted and no pages yet: the caller holds the vmas
// it creates, or calls unrefLocked(s, 0) when it creates none.
func newSource(mp Mappable) *source {
	if r, ok := mp.(RefCounted); ok {
		r.IncRef()
	}
	return &source{Mappable: mp}
}

// release drops the reference newSource took.
func (s *source) release() {
	if r, ok := s.Mappable.(RefCounted); ok {
		r.DecRef()
	}
}

// hold adds v's pages to the count of its source (a vma is created).
func (v *vma) hold() {
	if v.src != nil {
		v.src.pages.Add(int64(v.length() / linux.PageSize))
	}
}

// unrefLocked removes pages from the count of s (nil: an anonymous vma);
// when none are left the source is released by unlock, once mu is free.
func (m *MemoryManager) unrefLocked(s *source, pages int64) {
	if s != nil && s.pages.Add(-pages) == 0 {
		m.unused = append(m.unused, s)
	}
}

// dropLocked releases what vma v holds, as it leaves the address space:
// its memory file pages and its pages of its source.
func (m *MemoryManager) dropLocked(v *vma) {
	m.mf.DecRef(v.off, int64(v.length()))
	m.unrefLocked(v.src, int64(v.length()/linux.PageSize))
}

// unlock releases mu, then the sources no mapping uses any more.
func (m *MemoryManager) unlock() {
	unused := m.unused
	m.unused = nil
	m.mu.Unlock()
	for _, s := range unused {
		s.release()
	}
}

// backing returns mp as a file whose own pages back its mappings (in
// this address space's memory file), or nil when mp keeps its data
// elsewhere (or is nil): its mappings then get copies of its bytes.
func (m *MemoryManager) backing(mp Mappable) FileBacked {
	if fb, ok := mp.(FileBacked); ok && fb.MemoryFile() == m.mf {
		return fb
	}
	return nil
}
