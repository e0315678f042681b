// Package mm implements application address spaces: the memory file that
// backs all application memory, VMAs, brk, mmap/munmap/mprotect, copy-in and
// copy-out, and fork.
//
// All application memory is backed eagerly: a VMA gets memory file pages
// when it is created and is mapped into the platform address space at once.
// Fork shares private pages copy-on-write (cow.go).
// Copy-in and copy-out are memory copies through the sandbox's own mapping of
// the memory file, never host system calls.
package mm

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/platform"
)

// mmapGap is the distance between the top of the user range and
// mmap_base, below which mmap places mappings top-down (Linux's minimum
// gap, which leaves room for the stack).
const mmapGap = 128 << 20

// MemoryManager is one application address space.
//
// Locking: mu guards every field below it, and is held across calls into
// the platform address space, the memory file and the files mapped (whose
// own locks are never held while taking mu). Fork holds the parent's mu.
// Files no mapping uses any more are released after mu (unlock).
type MemoryManager struct {
	p     platform.Platform
	mf    *MemoryFile
	as    platform.AddressSpace
	users atomic.Int32

	mu                 sync.Mutex
	vmas               vmaSet
	released           bool
	brkStart, brk      uintptr
	argvStart, argvEnd uintptr
	envStart, envEnd   uintptr
	executable         string
	unused             []*source // to release when mu is unlocked
}

// New returns an empty address space on platform p. It starts with one
// user (the caller's); DecUsers releases it.
func New(p platform.Platform, mf *MemoryFile) (*MemoryManager, error) {
	as, err := p.NewAddressSpace()
	if err != nil {
		return nil, fmt.Errorf("creating address space: %w", err)
	}
	m := &MemoryManager{p: p, mf: mf, as: as}
	m.users.Store(1)
	return m, nil
}

// AddressSpace returns the platform address space to pass to Switch.
func (m *MemoryManager) AddressSpace() platform.AddressSpace { return m.as }

// IncUsers and DecUsers count the tasks using the address space; the last
// DecUsers releases it. New and Fork return it with one user.
func (m *MemoryManager) IncUsers() { m.users.Add(1) }

// DecUsers drops a user; the last one releases the address space: its
// memory goes back to the memory file and its stub process is destroyed.
func (m *MemoryManager) DecUsers() {
	if m.users.Add(-1) == 0 {
		m.release()
	}
}

func (m *MemoryManager) release() {
	m.mu.Lock()
	defer m.unlock()
	if m.released {
		return
	}
	m.released = true
	for i := range m.vmas {
		m.dropLocked(&m.vmas[i])
	}
	m.vmas = nil
	m.as.Release()
}

// Fork returns a copy of the address space with one user. Shared memory
// is shared; private memory is shared copy-on-write (cow.go): both address
// spaces reference the same pages, mapped read-only in the platform, until
// one of them writes.
func (m *MemoryManager) Fork() (*MemoryManager, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.released {
		return nil, linux.EFAULT
	}
	if err := m.writeProtectPrivateLocked(); err != nil {
		return nil, err
	}
	c, err := New(m.p, m.mf)
	if err != nil {
		return nil, err
	}
	c.brkStart, c.brk = m.brkStart, m.brk
	c.argvStart, c.argvEnd, c.envStart, c.envEnd = m.argvStart, m.argvEnd, m.envStart, m.envEnd
	c.executable = m.executable
	for i := range m.vmas {
		v := &m.vmas[i]
		if !v.shared {
			v.cow = true
		}
		if err := c.forkVMA(*v); err != nil {
			c.DecUsers()
			return nil, fmt.Errorf("forking mapping %#x-%#x: %w", v.start, v.end, err)
		}
	}
	return c, nil
}

// writeProtectPrivateLocked removes PROT_WRITE from the platform mapping of
// every writable private vma that is not already copy-on-write, one call
// per run of adjacent such vmas. On failure some pages may be read-only
// while their vma is not cow; HandleFault repairs those on the next write.
func (m *MemoryManager) writeProtectPrivateLocked() error {
	needs := func(v *vma) bool { return !v.shared && !v.cow && v.prot&linux.PROT_WRITE != 0 }
	for i := 0; i < len(m.vmas); {
		v := &m.vmas[i]
		if !needs(v) {
			i++
			continue
		}
		j := i + 1
		for j < len(m.vmas) && m.vmas[j].start == m.vmas[j-1].end && m.vmas[j].prot == v.prot && needs(&m.vmas[j]) {
			j++
		}
		if err := m.as.Protect(v.start, m.vmas[j-1].end-v.start, v.prot&^linux.PROT_WRITE); err != nil {
			return fmt.Errorf("write-protecting %#x-%#x for fork: %w", v.start, m.vmas[j-1].end, err)
		}
		i = j
	}
	return nil
}

// forkVMA gives c its copy of the parent's vma v (cow when private): a
// new reference to the same pages, and to its source.
func (c *MemoryManager) forkVMA(v vma) error {
	if err := c.mf.IncRef(v.off, int64(v.length())); err != nil {
		return err
	}
	v.hold()
	c.vmas.insert(v)
	return c.as.MapFile(v.start, v.length(), v.off, v.hostProt())
}

// copyData copies length bytes at src to dst (freshly allocated, so all
// zero), visiting only the data extents of src and skipping zero pages.
func (f *MemoryFile) copyData(dst, src, length int64) error {
	zero := make([]byte, linux.PageSize)
	end := src + length
	for pos := src; pos < end; {
		data, err := unix.Seek(f.fd, pos, unix.SEEK_DATA)
		if errors.Is(err, unix.ENXIO) || (err == nil && data >= end) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("seeking data in memory file: %w", err)
		}
		hole, err := unix.Seek(f.fd, data, unix.SEEK_HOLE)
		if err != nil {
			return fmt.Errorf("seeking hole in memory file: %w", err)
		}
		hole = min(hole, end)
		for p := data &^ (linux.PageSize - 1); p < hole; p += linux.PageSize {
			from, err := f.Bytes(p, linux.PageSize)
			if err != nil {
				return err
			}
			if bytes.Equal(from, zero) {
				continue
			}
			to, err := f.Bytes(dst+(p-src), linux.PageSize)
			if err != nil {
				return err
			}
			copy(to, from)
		}
		pos = hole
	}
	return nil
}

// MinUserAddress and MaxUserAddress bound the addresses mappings may use:
// [MinUserAddress, MaxUserAddress), as the platform allows.
func (m *MemoryManager) MinUserAddress() uintptr { return m.p.MinUserAddress() }

// MaxUserAddress is the end of the usable address range.
func (m *MemoryManager) MaxUserAddress() uintptr { return m.p.MaxUserAddress() }
