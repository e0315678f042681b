package mm

import (
	"errors"
	"io"

	"bulwark.dev/pkg/abi/linux"
)

// Mappable is the source of a file-backed mapping (an open file). Private
// mappings copy its bytes into the memory file when mapped, unless it is
// FileBacked (see MMap), and read them again on madvise(MADV_DONTNEED). A
// Mappable that is RefCounted is kept open while mapped (source.go).
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
	// FileWritable says the file was opened for writing, so a shared
	// mapping of it may be (or later become) writable.
	FileWritable bool
	// LimitAS is RLIMIT_AS in bytes (0: no limit): linux.ENOMEM when the
	// address space would grow beyond it.
	LimitAS uint64
}

// protMask is the set of PROT_* bits mmap and mprotect accept;
// PROT_GROWSDOWN/UP are accepted by mprotect and ignored.
const protMask = linux.PROT_READ | linux.PROT_WRITE | linux.PROT_EXEC

// MMap creates a mapping and returns its address (linux.ENOMEM, EINVAL, ...).
//
// A mapping of a FileBacked Mappable that uses this address space's memory
// file maps the file's own pages: a shared one writes them, a private one
// shares them copy-on-write (cow.go), so that mapping a file (an
// executable, a library) copies nothing until a page is written. Other
// file mappings are snapshots: the file's bytes are copied in at mmap time
// (zero past EOF), so a shared one cannot be writable (linux.ENODEV).
func (m *MemoryManager) MMap(o MMapOpts) (uintptr, error) {
	if o.Length == 0 || o.Prot&^protMask != 0 || o.Offset < 0 || o.Offset%linux.PageSize != 0 {
		return 0, linux.EINVAL
	}
	length, ok := pageUp(o.Length)
	if !ok {
		return 0, linux.ENOMEM
	}
	backed := m.backing(o.Mappable) != nil
	if o.Mappable != nil && !backed && !o.Private && o.Prot&linux.PROT_WRITE != 0 {
		return 0, linux.ENODEV
	}
	m.mu.Lock()
	defer m.unlock()
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
	if o.LimitAS != 0 && m.sizeLocked()+uint64(length) > o.LimitAS {
		replaced := uint64(0)
		if fixed {
			replaced = m.mappedLocked(addr, addr+length)
		}
		if m.sizeLocked()-replaced+uint64(length) > o.LimitAS {
			return 0, linux.ENOMEM
		}
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
		v.src, v.name, v.fileOff = newSource(o.Mappable), o.Mappable.Name(), o.Offset
		if id, ok := o.Mappable.(FileIdentity); ok {
			v.devMajor, v.devMinor, v.ino = id.DeviceInode()
		}
		v.writable = !o.Private && backed && o.FileWritable
	}
	pieces, err := m.backLocked(v)
	if err != nil {
		m.unrefLocked(v.src, 0) // no vma holds it
		return 0, err
	}
	if fixed {
		m.removeLocked(addr, addr+length)
	}
	if err := m.insertLocked(pieces); err != nil {
		return 0, err
	}
	return addr, nil
}

// backLocked returns the vmas of v, a new vma in no set, holding their
// memory file pages and their source: a file in this memory file lends its
// own pages (copy-on-write for a private mapping); other mappings get new
// pages, filled with the file's bytes for a file mapping.
func (m *MemoryManager) backLocked(v vma) ([]vma, error) {
	var pieces []vma
	var fb FileBacked
	if v.src != nil {
		fb = m.backing(v.src.Mappable)
	}
	if fb != nil {
		var err error
		if pieces, err = backedPieces(v, fb); err != nil {
			return nil, err
		}
	} else {
		off, err := m.mf.Allocate(int64(v.length()))
		if err != nil {
			return nil, err
		}
		if v.src != nil {
			if err := m.fill(off, int64(v.length()), v.src, v.fileOff); err != nil {
				m.mf.Free(off, int64(v.length()))
				return nil, err
			}
		}
		v.off = off
		pieces = []vma{v}
	}
	for i := range pieces {
		pieces[i].cow = !v.shared && fb != nil
		pieces[i].hold()
	}
	return pieces, nil
}

// backedPieces returns v split into vmas, one per contiguous memory file
// range of the file pages backing it; each holds a page reference.
func backedPieces(v vma, fb FileBacked) ([]vma, error) {
	ranges, err := fb.MapRanges(v.fileOff, int64(v.length()))
	if err != nil {
		return nil, err
	}
	out := make([]vma, 0, len(ranges))
	pos := v.start
	for _, r := range ranges {
		p := v
		p.start, p.end, p.off = pos, pos+uintptr(r.Length), r.Off
		p.fileOff = v.fileOff + int64(pos-v.start)
		out = append(out, p)
		pos = p.end
	}
	return out, nil
}

// insertLocked adds vmas whose memory references the caller holds (they
// must not overlap existing ones) and maps them in the platform; on
// failure it removes them and releases their memory.
func (m *MemoryManager) insertLocked(vs []vma) error {
	for _, v := range vs {
		m.vmas.insert(v)
	}
	for _, v := range vs {
		if err := m.as.MapFile(v.start, v.length(), v.off, v.hostProt()); err != nil {
			for _, r := range vs {
				m.removeLocked(r.start, r.end)
				m.as.Unmap(r.start, r.length())
			}
			return linux.ENOMEM
		}
	}
	return nil
}

// sizeLocked returns the bytes mapped in the address space.
func (m *MemoryManager) sizeLocked() uint64 {
	var n uint64
	for _, v := range m.vmas {
		n += uint64(v.length())
	}
	return n
}

// mappedLocked returns how many bytes of [start, end) are mapped.
func (m *MemoryManager) mappedLocked(start, end uintptr) uint64 {
	var n uint64
	for i := m.vmas.find(start); i < len(m.vmas) && m.vmas[i].start < end; i++ {
		n += uint64(min(end, m.vmas[i].end) - max(start, m.vmas[i].start))
	}
	return n
}

// VirtualSize returns the bytes mapped in the address space (VmSize).
func (m *MemoryManager) VirtualSize() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sizeLocked()
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
		m.dropLocked(&v)
	}
}

// Munmap removes mappings in [addr, addr+length).
func (m *MemoryManager) Munmap(addr, length uintptr) error {
	end, ok := pageUp(addr + length)
	if addr%linux.PageSize != 0 || length == 0 || !ok || addr+length < addr || end > m.p.MaxUserAddress() {
		return linux.EINVAL
	}
	m.mu.Lock()
	defer m.unlock()
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
// writable when it is a snapshot or the file is not open for writing.
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
		if v := m.vmas[k]; v.src != nil && v.shared && !v.writable && prot&linux.PROT_WRITE != 0 {
			return linux.EACCES
		}
	}
	for k := i; k < j; k++ {
		m.vmas[k].prot = prot
	}
	// Copy-on-write vmas stay read-only in the platform: one call per run
	// of vmas with the same host protection.
	for k := i; k < j; {
		hp, l := m.vmas[k].hostProt(), k+1
		for l < j && m.vmas[l].hostProt() == hp {
			l++
		}
		if err := m.as.Protect(m.vmas[k].start, m.vmas[l-1].end-m.vmas[k].start, hp); err != nil {
			return linux.ENOMEM
		}
		k = l
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
func (m *MemoryManager) Brk(addr uintptr) uintptr { return m.BrkLimit(addr, 0) }

// BrkLimit is Brk honouring RLIMIT_AS (limitAS bytes, 0: no limit).
func (m *MemoryManager) BrkLimit(addr uintptr, limitAS uint64) uintptr {
	m.mu.Lock()
	defer m.unlock()
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
		if limitAS != 0 && m.sizeLocked()+uint64(newTop-oldTop) > limitAS {
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
