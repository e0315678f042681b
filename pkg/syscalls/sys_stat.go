package syscalls

import (
	"encoding/binary"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/kernel"
	"bulwark.dev/pkg/vfs"
)

// File status: stat and friends, statx, statfs.

func init() {
	register(linux.SYS_STAT, sysStat, kernel.Path, kernel.Hex)
	register(linux.SYS_LSTAT, sysLstat, kernel.Path, kernel.Hex)
	register(linux.SYS_FSTAT, sysFstat, kernel.FD, kernel.Hex)
	register(linux.SYS_NEWFSTATAT, sysNewfstatat, kernel.FD, kernel.Path, kernel.Hex, kernel.Hex)
	register(linux.SYS_STATX, sysStatx, kernel.FD, kernel.Path, kernel.Hex, kernel.Hex, kernel.Hex)
	register(linux.SYS_STATFS, sysStatfs, kernel.Path, kernel.Hex)
	register(linux.SYS_FSTATFS, sysFstatfs, kernel.FD, kernel.Hex)
}

// copyOutStruct writes v (a fixed-size ABI struct) to addr.
func copyOutStruct(t *kernel.Task, addr uintptr, v any) error {
	b, err := binary.Append(nil, binary.LittleEndian, v)
	if err != nil {
		return linux.EINVAL
	}
	_, err = t.CopyOut(addr, b)
	return err
}

// statAt is fstatat: flags may hold AT_SYMLINK_NOFOLLOW and AT_EMPTY_PATH.
func statAt(t *kernel.Task, dirfd, pathAddr uintptr, flags uint32) (linux.Statx, error) {
	if flags&^(linux.AT_SYMLINK_NOFOLLOW|linux.AT_EMPTY_PATH|linux.AT_NO_AUTOMOUNT|linux.AT_STATX_SYNC_TYPE) != 0 {
		return linux.Statx{}, linux.EINVAL
	}
	var path string
	if pathAddr != 0 || flags&linux.AT_EMPTY_PATH == 0 {
		var err error
		if path, err = copyPath(t, pathAddr); err != nil {
			return linux.Statx{}, err
		}
	}
	dir, err := getDir(t, dirfd)
	if err != nil {
		return linux.Statx{}, err
	}
	defer putDir(dir)
	return vfs.StatAt(t, t.FSContext(), dir, path, flags)
}

func writeStat(t *kernel.Task, addr uintptr, sx linux.Statx, err error) (uintptr, error) {
	if err != nil {
		return 0, err
	}
	st := vfs.StatxToStat(sx)
	return 0, copyOutStruct(t, addr, &st)
}

func sysStat(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	sx, err := statAt(t, atFDCWD, a[0], 0)
	return writeStat(t, a[1], sx, err)
}

func sysLstat(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	sx, err := statAt(t, atFDCWD, a[0], linux.AT_SYMLINK_NOFOLLOW)
	return writeStat(t, a[1], sx, err)
}

func sysFstat(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	f, err := getFile(t, a[0])
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	sx, err := f.Stat(t)
	return writeStat(t, a[1], sx, err)
}

func sysNewfstatat(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	sx, err := statAt(t, a[0], a[1], uint32(a[3]))
	return writeStat(t, a[2], sx, err)
}

func sysStatx(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	sx, err := statAt(t, a[0], a[1], uint32(a[2]))
	if err != nil {
		return 0, err
	}
	return 0, copyOutStruct(t, a[4], &sx)
}

func sysStatfs(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	path, err := copyPath(t, a[0])
	if err != nil {
		return 0, err
	}
	st, err := vfs.StatFSAt(t, t.FSContext(), path)
	if err != nil {
		return 0, err
	}
	return 0, copyOutStruct(t, a[1], &st)
}

func sysFstatfs(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	f, err := getFile(t, a[0])
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	st, err := f.StatFS(t)
	if err != nil {
		return 0, err
	}
	return 0, copyOutStruct(t, a[1], &st)
}
