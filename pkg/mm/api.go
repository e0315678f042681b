// Package mm implements application address spaces: the memory file that
// backs all application memory, VMAs, brk, mmap/munmap/mprotect, copy-in and
// copy-out, and fork.
//
// CONTRACT (lead): the exported names in this file are used by pkg/kernel,
// pkg/loader, pkg/syscalls and boot. The mm work owns this file: it
// implements them and may add more, but must keep these signatures.
package mm

import "bulwark.dev/pkg/platform"

// MemoryFile is the memfd backing all application memory. The sandbox maps
// it whole into its own address space, so copy-in/out is a memory copy.
type MemoryFile struct{ _ int }

// NewMemoryFile creates a memory file of (sparse) size bytes.
func NewMemoryFile(name string, size int64) (*MemoryFile, error) { panic("unimplemented") }

// FD is the host fd of the memfd (for the platform, which maps it into stubs).
func (f *MemoryFile) FD() int { panic("unimplemented") }

// Close unmaps and closes the file.
func (f *MemoryFile) Close() { panic("unimplemented") }

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
	NoReplace bool // MAP_FIXED_NOREPLACE
	GrowsDown bool
	Mappable  Mappable // nil for anonymous memory
	Offset    int64
	Name      string // for anonymous special mappings, e.g. "[stack]"
}

// MemoryManager is one application address space.
type MemoryManager struct{ _ int }

// New returns an empty address space on platform p.
func New(p platform.Platform, mf *MemoryFile) (*MemoryManager, error) { panic("unimplemented") }

// AddressSpace returns the platform address space to pass to Switch.
func (m *MemoryManager) AddressSpace() platform.AddressSpace { panic("unimplemented") }

// Fork returns a copy of the address space with private memory copied
// (or copy-on-write) and shared memory shared.
func (m *MemoryManager) Fork() (*MemoryManager, error) { panic("unimplemented") }

// IncUsers and DecUsers count the tasks using the address space; the last
// DecUsers releases it.
func (m *MemoryManager) IncUsers() { panic("unimplemented") }

// DecUsers drops a user; the last one releases the address space.
func (m *MemoryManager) DecUsers() { panic("unimplemented") }

// MMap creates a mapping and returns its address (linux.ENOMEM, EINVAL, ...).
func (m *MemoryManager) MMap(opts MMapOpts) (uintptr, error) { panic("unimplemented") }

// Munmap removes mappings in [addr, addr+length).
func (m *MemoryManager) Munmap(addr, length uintptr) error { panic("unimplemented") }

// Mprotect changes protections in [addr, addr+length).
func (m *MemoryManager) Mprotect(addr, length uintptr, prot int) error { panic("unimplemented") }

// SetBrkStart sets the start (and current end) of the heap; the loader calls
// it with the end of the executable's data.
func (m *MemoryManager) SetBrkStart(addr uintptr) { panic("unimplemented") }

// Brk implements brk(2): it moves the break to addr if possible and returns
// the (new or unchanged) break. Brk(0) returns the current break.
func (m *MemoryManager) Brk(addr uintptr) uintptr { panic("unimplemented") }

// CopyIn copies from application memory (linux.EFAULT, with the count done).
func (m *MemoryManager) CopyIn(addr uintptr, dst []byte) (int, error) { panic("unimplemented") }

// CopyOut copies to application memory (linux.EFAULT, with the count done).
// It writes even to read-only mappings only when force is... (it does not: it
// honours the VMA's protection like the host kernel's copy_to_user).
func (m *MemoryManager) CopyOut(addr uintptr, src []byte) (int, error) { panic("unimplemented") }

// CopyInString reads a NUL-terminated string of at most max bytes.
func (m *MemoryManager) CopyInString(addr uintptr, max int) (string, error) { panic("unimplemented") }

// Maps returns the text of /proc/[pid]/maps.
func (m *MemoryManager) Maps() string { panic("unimplemented") }

// SetArgvEnv records where the loader put argv and envp strings, for
// /proc/[pid]/cmdline and environ.
func (m *MemoryManager) SetArgvEnv(argvStart, argvEnd, envStart, envEnd uintptr) {
	panic("unimplemented")
}

// Cmdline returns the bytes of argv as /proc/[pid]/cmdline shows them.
func (m *MemoryManager) Cmdline() []byte { panic("unimplemented") }

// SetExecutable records the path of the executable for /proc/[pid]/exe.
func (m *MemoryManager) SetExecutable(path string) { panic("unimplemented") }

// Executable returns the recorded executable path.
func (m *MemoryManager) Executable() string { panic("unimplemented") }
