package syscalls

import (
	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/kernel"
	"bulwark.dev/pkg/mm"
	"bulwark.dev/pkg/vfs"
)

// Memory: brk, mmap, munmap, mprotect, madvise, mremap, mincore, msync,
// mlock and friends.

func init() {
	register(linux.SYS_BRK, sysBrk, kernel.Hex)
	register(linux.SYS_MMAP, sysMmap, kernel.Hex, kernel.Int, kernel.Hex, kernel.Hex, kernel.FD, kernel.Hex)
	register(linux.SYS_MUNMAP, sysMunmap, kernel.Hex, kernel.Int)
	register(linux.SYS_MPROTECT, sysMprotect, kernel.Hex, kernel.Int, kernel.Hex)
	register(linux.SYS_MADVISE, sysMadvise, kernel.Hex, kernel.Int, kernel.Int)
	register(linux.SYS_MREMAP, sysMremap, kernel.Hex, kernel.Int, kernel.Int, kernel.Hex, kernel.Hex)
	register(linux.SYS_MINCORE, sysMincore, kernel.Hex, kernel.Int, kernel.Hex)
	register(linux.SYS_MSYNC, sysMsync, kernel.Hex, kernel.Int, kernel.Hex)
	register(linux.SYS_MLOCK, sysMlock, kernel.Hex, kernel.Int)
	register(linux.SYS_MLOCK2, sysMlock2, kernel.Hex, kernel.Int, kernel.Hex)
	register(linux.SYS_MUNLOCK, sysMlock, kernel.Hex, kernel.Int)
	register(linux.SYS_MLOCKALL, sysMlockall, kernel.Hex)
	register(linux.SYS_MUNLOCKALL, sysMunlockall)
}

// limitAS returns the caller's RLIMIT_AS in bytes, 0 when unlimited.
func limitAS(t *kernel.Task) uint64 {
	l := t.ThreadGroup().Limit(linux.RLIMIT_AS).Cur
	if l == linux.RLimInfinity {
		return 0
	}
	return max(l, 1) // a limit of 0 allows nothing, as 1 byte does
}

func sysBrk(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return t.MemoryManager().BrkLimit(a[0], limitAS(t)), nil
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

func (m fileMappable) Name() string { return m.name }

// IncRef implements mm.RefCounted: a mapping keeps its file open, as on
// Linux.
func (m fileMappable) IncRef() { m.f.IncRef() }

// DecRef drops the mapping's reference.
func (m fileMappable) DecRef() { m.f.DecRef() }

// DeviceInode implements mm.FileIdentity.
func (m fileMappable) DeviceInode() (major, minor uint32, ino uint64) {
	return m.st.DevMajor, m.st.DevMinor, m.st.Ino
}

// backedMappable is a file whose data is in memory file pages (tmpfs,
// memfd): shared mappings map those pages.
type backedMappable struct {
	fileMappable
	mm.FileBacked
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
		LimitAS:   limitAS(t),
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
			// Shared mappings of files in memory file pages (tmpfs) map
			// those pages. Other files' bytes are copied in now, and mm
			// refuses writable shared mappings of them (ENODEV): gofer
			// (host) files until they share a page cache.
			fm := fileMappable{f: f, name: f.PathName(), st: st}
			opts.Mappable = fm
			if fb, ok := f.Impl().(mm.FileBacked); ok {
				opts.Mappable = backedMappable{fm, fb}
			}
			opts.Offset = off
			opts.FileWritable = f.Writable()
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

// sysMadvise: MADV_DONTNEED (and MADV_REMOVE) drop private pages
// (mm.Decommit): private anonymous memory reads zeros again, which malloc
// relies on, and a private file mapping the file's current bytes; shared
// mappings keep their contents. Other known advice is a hint that
// succeeds.
func sysMadvise(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	addr, length, advice := a[0], a[1], int(a[2])
	if addr&(linux.PageSize-1) != 0 || addr+length < addr {
		return 0, linux.EINVAL
	}
	switch advice {
	case linux.MADV_DONTNEED, linux.MADV_REMOVE:
		return 0, t.MemoryManager().Decommit(addr, length)
	case linux.MADV_NORMAL, linux.MADV_RANDOM, linux.MADV_SEQUENTIAL, linux.MADV_WILLNEED,
		linux.MADV_FREE, linux.MADV_DONTFORK, linux.MADV_DOFORK, linux.MADV_MERGEABLE,
		linux.MADV_UNMERGEABLE, linux.MADV_HUGEPAGE, linux.MADV_NOHUGEPAGE, linux.MADV_DONTDUMP,
		linux.MADV_DODUMP, linux.MADV_WIPEONFORK, linux.MADV_KEEPONFORK, linux.MADV_COLD,
		linux.MADV_PAGEOUT:
		if length != 0 && !t.MemoryManager().Mapped(addr, length) {
			return 0, linux.ENOMEM
		}
		return 0, nil
	}
	return 0, linux.EINVAL
}

// sysMremap: mremap(old, oldSize, newSize, flags, newAddr).
func sysMremap(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return t.MemoryManager().Mremap(a[0], a[1], a[2], int(a[3]), a[4], limitAS(t))
}

// sysMincore: mincore(addr, length, vec). Every mapped page counts as
// resident (memory is backed eagerly).
func sysMincore(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	addr, length, vec := a[0], a[1], a[2]
	if addr&(linux.PageSize-1) != 0 {
		return 0, linux.EINVAL
	}
	if length == 0 {
		return 0, nil
	}
	if addr+length < addr || !t.MemoryManager().Mapped(addr, length) {
		return 0, linux.ENOMEM
	}
	pages := (length + linux.PageSize - 1) / linux.PageSize
	buf := make([]byte, min(pages, chunk))
	for i := range buf {
		buf[i] = 1
	}
	for done := uintptr(0); done < pages; {
		n := min(pages-done, uintptr(len(buf)))
		if _, err := t.CopyOut(vec+done, buf[:n]); err != nil {
			return 0, linux.EFAULT
		}
		done += n
	}
	return 0, nil
}

// sysMsync: shared mappings of memory-file files are the file's pages and
// other mappings are private or snapshots, so there is nothing to write
// back: msync checks its arguments and succeeds.
func sysMsync(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	addr, length, flags := a[0], a[1], int(a[2])
	if addr&(linux.PageSize-1) != 0 || flags&^(linux.MS_ASYNC|linux.MS_SYNC|linux.MS_INVALIDATE) != 0 ||
		flags&(linux.MS_ASYNC|linux.MS_SYNC) == linux.MS_ASYNC|linux.MS_SYNC {
		return 0, linux.EINVAL
	}
	if length != 0 && !t.MemoryManager().Mapped(addr, length) {
		return 0, linux.ENOMEM
	}
	return 0, nil
}

// sysMlock implements mlock and munlock: memory is never swapped, so they
// only check the range is mapped.
func sysMlock(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	addr, length := a[0]&^(linux.PageSize-1), a[1]+a[0]&(linux.PageSize-1)
	if length != 0 && !t.MemoryManager().Mapped(addr, length) {
		return 0, linux.ENOMEM
	}
	return 0, nil
}

// sysMlock2: mlock2(addr, length, flags).
func sysMlock2(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	if a[2]&^linux.MLOCK_ONFAULT != 0 {
		return 0, linux.EINVAL
	}
	return sysMlock(t, a)
}

// sysMlockall: mlockall(flags) succeeds for valid flags.
func sysMlockall(_ *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	flags := a[0]
	if flags == 0 || flags&^(linux.MCL_CURRENT|linux.MCL_FUTURE|linux.MCL_ONFAULT) != 0 || flags == linux.MCL_ONFAULT {
		return 0, linux.EINVAL
	}
	return 0, nil
}

func sysMunlockall(*kernel.Task, kernel.SyscallArguments) (uintptr, error) { return 0, nil }
