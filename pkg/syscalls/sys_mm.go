package syscalls

import (
	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/kernel"
	"bulwark.dev/pkg/mm"
	"bulwark.dev/pkg/vfs"
)

// Memory: brk, mmap, munmap, mprotect, madvise, mremap.

func init() {
	register(linux.SYS_BRK, sysBrk, kernel.Hex)
	register(linux.SYS_MMAP, sysMmap, kernel.Hex, kernel.Int, kernel.Hex, kernel.Hex, kernel.FD, kernel.Hex)
	register(linux.SYS_MUNMAP, sysMunmap, kernel.Hex, kernel.Int)
	register(linux.SYS_MPROTECT, sysMprotect, kernel.Hex, kernel.Int, kernel.Hex)
	register(linux.SYS_MADVISE, sysMadvise, kernel.Hex, kernel.Int, kernel.Int)
	register(linux.SYS_MREMAP, sysMremap, kernel.Hex, kernel.Int, kernel.Int, kernel.Hex, kernel.Hex)
}

func sysBrk(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return t.MemoryManager().Brk(a[0]), nil
}

// knownMapFlags are the mmap flags accepted (most are hints without effect
// here).
const knownMapFlags = linux.MAP_TYPE | linux.MAP_FIXED | linux.MAP_ANONYMOUS | linux.MAP_32BIT |
	linux.MAP_GROWSDOWN | linux.MAP_DENYWRITE | linux.MAP_EXECUTABLE | linux.MAP_LOCKED |
	linux.MAP_NORESERVE | linux.MAP_POPULATE | linux.MAP_NONBLOCK | linux.MAP_STACK |
	linux.MAP_HUGETLB | linux.MAP_SYNC | linux.MAP_FIXED_NOREPLACE

// validProt are the protection bits mmap and mprotect accept.
const validProt = linux.PROT_READ | linux.PROT_WRITE | linux.PROT_EXEC

// fileMappable is the source of a file mapping: the open file, with the
// name and identity /proc/[pid]/maps shows.
type fileMappable struct {
	f    *vfs.File
	name string
	st   linux.Statx
}

func (m fileMappable) ReadAt(p []byte, off int64) (int, error) { return m.f.ReadAt(p, off) }
func (m fileMappable) Name() string                            { return m.name }

// DeviceInode implements mm.FileIdentity.
func (m fileMappable) DeviceInode() (major, minor uint32, ino uint64) {
	return m.st.DevMajor, m.st.DevMinor, m.st.Ino
}

// isDevZero reports whether st is /dev/zero (char 1:5), whose private
// mappings are anonymous memory.
func isDevZero(st linux.Statx) bool {
	return st.Mode&linux.S_IFMT == linux.S_IFCHR && st.RdevMajor == 1 && st.RdevMinor == 5
}

// sysMmap: mmap(addr, length, prot, flags, fd, offset).
func sysMmap(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	addr, length, prot, flags, fd, off := a[0], a[1], int(a[2]), int(a[3]), int32(a[4]), int64(a[5])
	if length == 0 || off&(linux.PageSize-1) != 0 || prot&^validProt != 0 || flags&^knownMapFlags != 0 {
		return 0, linux.EINVAL
	}
	typ := flags & linux.MAP_TYPE
	if typ != linux.MAP_SHARED && typ != linux.MAP_PRIVATE && typ != linux.MAP_SHARED_VALIDATE {
		return 0, linux.EINVAL
	}
	opts := mm.MMapOpts{
		Addr:      addr,
		Length:    length,
		Prot:      prot,
		Private:   typ == linux.MAP_PRIVATE,
		Fixed:     flags&(linux.MAP_FIXED|linux.MAP_FIXED_NOREPLACE) != 0,
		NoReplace: flags&linux.MAP_FIXED_NOREPLACE != 0,
		GrowsDown: flags&linux.MAP_GROWSDOWN != 0,
	}
	if flags&linux.MAP_ANONYMOUS == 0 {
		f, _, err := t.FDTable().Get(fd)
		if err != nil {
			return 0, err
		}
		defer f.DecRef()
		if f.IsPath() {
			return 0, linux.EBADF
		}
		if !f.Readable() || (!opts.Private && prot&linux.PROT_WRITE != 0 && !f.Writable()) {
			return 0, linux.EACCES
		}
		st, err := f.Stat(t)
		if err != nil {
			return 0, err
		}
		switch {
		case isDevZero(st):
			// Anonymous memory, private or shared.
		case st.Mode&linux.S_IFMT != linux.S_IFREG:
			return 0, linux.ENODEV
		default:
			// The file's bytes are copied in now; mm refuses writable
			// shared file mappings (ENODEV) until page caches are shared.
			opts.Mappable = fileMappable{f: f, name: f.PathName(), st: st}
			opts.Offset = off
		}
	}
	return t.MemoryManager().MMap(opts)
}

func sysMunmap(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return 0, t.MemoryManager().Munmap(a[0], a[1])
}

func sysMprotect(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	prot := int(a[2]) &^ (linux.PROT_GROWSDOWN | linux.PROT_GROWSUP)
	if prot&^validProt != 0 {
		return 0, linux.EINVAL
	}
	return 0, t.MemoryManager().Mprotect(a[0], a[1], prot)
}

// sysMadvise accepts every advice as a hint. MADV_DONTNEED does not zero
// private anonymous pages yet.
func sysMadvise(_ *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	if a[0]&(linux.PageSize-1) != 0 {
		return 0, linux.EINVAL
	}
	return 0, nil
}

// sysMremap is not implemented; libcs fall back to mmap+copy+munmap.
func sysMremap(*kernel.Task, kernel.SyscallArguments) (uintptr, error) {
	return 0, linux.ENOSYS
}
