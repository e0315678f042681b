package mm

import (
	"sort"

	"bulwark.dev/pkg/abi/linux"
)

// vma is one mapping [start, end) of an address space. Every vma is backed
// by the memory file range [off, off+end-start), allocated when the vma is
// created (file pages are sparse, so untouched memory costs nothing).
type vma struct {
	start, end uintptr
	prot       int
	shared     bool  // MAP_SHARED: the range is shared with forks
	off        int64 // memory file offset of start
	growsDown  bool
	// cow: the pages may be shared with another address space since a
	// fork, so the platform maps them without PROT_WRITE (cow.go).
	cow bool
	// writable: a shared file mapping of the file's own pages (src) whose
	// file is open for writing, so PROT_WRITE may be added.
	writable bool
	// src is the file of a file mapping, nil for anonymous memory
	// (source.go); fileOff, devMajor, devMinor and ino apply with it.
	src     *source
	fileOff int64 // offset in the file of start

	// What /proc/[pid]/maps shows.
	name     string // path of the file, or a special name such as "[stack]"
	devMajor uint32
	devMinor uint32
	ino      uint64
}

func (v *vma) length() uintptr { return v.end - v.start }

// from returns the part of v starting at addr (start < addr < end).
func (v vma) from(addr uintptr) vma {
	d := addr - v.start
	v.start = addr
	v.off += int64(d)
	if v.src != nil {
		v.fileOff += int64(d)
	}
	return v
}

// FileIdentity is implemented by a Mappable that can name its device and
// inode for /proc/[pid]/maps; without it they show as 00:00 0.
type FileIdentity interface {
	DeviceInode() (major, minor uint32, ino uint64)
}

// vmaSet is a sorted set of disjoint vmas.
type vmaSet []vma

// find returns the index of the first vma with end > addr.
func (s vmaSet) find(addr uintptr) int {
	return sort.Search(len(s), func(i int) bool { return s[i].end > addr })
}

// overlaps reports whether any vma intersects [start, end).
func (s vmaSet) overlaps(start, end uintptr) bool {
	i := s.find(start)
	return i < len(s) && s[i].start < end
}

// split makes addr a vma boundary if a vma spans it.
func (s *vmaSet) split(addr uintptr) {
	i := s.find(addr)
	if i == len(*s) || (*s)[i].start >= addr {
		return
	}
	v := (*s)[i]
	*s = append(*s, vma{})
	copy((*s)[i+1:], (*s)[i:])
	(*s)[i].end = addr
	(*s)[i+1] = v.from(addr)
}

// span splits at start and end and returns the index range [i, j) of the
// vmas inside [start, end).
func (s *vmaSet) span(start, end uintptr) (int, int) {
	s.split(start)
	s.split(end)
	i := s.find(start)
	j := i
	for j < len(*s) && (*s)[j].start < end {
		j++
	}
	return i, j
}

// insert adds v, which must not overlap any vma.
func (s *vmaSet) insert(v vma) {
	i := s.find(v.start)
	*s = append(*s, vma{})
	copy((*s)[i+1:], (*s)[i:])
	(*s)[i] = v
}

// remove cuts [start, end) out of the set and returns the removed pieces.
func (s *vmaSet) remove(start, end uintptr) []vma {
	i, j := s.span(start, end)
	removed := append([]vma(nil), (*s)[i:j]...)
	*s = append((*s)[:i], (*s)[j:]...)
	return removed
}

// covered reports whether [start, end) is mapped without holes.
func (s vmaSet) covered(start, end uintptr) bool {
	pos := start
	for i := s.find(start); i < len(s) && pos < end; i++ {
		if s[i].start > pos {
			return false
		}
		pos = s[i].end
	}
	return pos >= end
}

// topDown returns the highest address a in [lo, hi) such that
// [a, a+length) is free.
func (s vmaSet) topDown(length, lo, hi uintptr) (uintptr, bool) {
	gapEnd := hi
	for i := len(s) - 1; i >= -1; i-- {
		gapStart := lo
		if i >= 0 {
			v := s[i]
			if v.start >= gapEnd {
				continue
			}
			if v.end > gapEnd {
				gapEnd = v.start
				continue
			}
			gapStart = max(v.end, lo)
		}
		if gapEnd > gapStart && gapEnd-gapStart >= length {
			return gapEnd - length, true
		}
		if i < 0 {
			break
		}
		gapEnd = s[i].start
		if gapEnd <= lo {
			break
		}
	}
	return 0, false
}

func pageDown(a uintptr) uintptr { return a &^ (linux.PageSize - 1) }

// pageUp rounds a up to a page; ok is false on overflow.
func pageUp(a uintptr) (uintptr, bool) {
	r := (a + linux.PageSize - 1) &^ (linux.PageSize - 1)
	return r, r >= a
}
