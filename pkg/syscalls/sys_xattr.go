package syscalls

import (
	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/kernel"
)

// Extended attributes. No filesystem of the sandbox stores any yet, so the
// calls answer as Linux does for a file without attributes on a filesystem
// that refuses new ones: get and remove fail with ENODATA, list is empty,
// set fails with EOPNOTSUPP. The file is still resolved first, so a
// missing path gets ENOENT and a bad fd EBADF.
func init() {
	register(linux.SYS_GETXATTR, xattrAt(0, linux.ENODATA), kernel.Path, kernel.Path, kernel.Hex, kernel.Int)
	register(linux.SYS_LGETXATTR, xattrAt(linux.AT_SYMLINK_NOFOLLOW, linux.ENODATA), kernel.Path, kernel.Path, kernel.Hex, kernel.Int)
	register(linux.SYS_FGETXATTR, xattrFD(linux.ENODATA), kernel.FD, kernel.Path, kernel.Hex, kernel.Int)
	register(linux.SYS_LISTXATTR, xattrAt(0, nil), kernel.Path, kernel.Hex, kernel.Int)
	register(linux.SYS_LLISTXATTR, xattrAt(linux.AT_SYMLINK_NOFOLLOW, nil), kernel.Path, kernel.Hex, kernel.Int)
	register(linux.SYS_FLISTXATTR, xattrFD(nil), kernel.FD, kernel.Hex, kernel.Int)
	register(linux.SYS_SETXATTR, xattrAt(0, linux.EOPNOTSUPP), kernel.Path, kernel.Path, kernel.Hex, kernel.Int, kernel.Hex)
	register(linux.SYS_LSETXATTR, xattrAt(linux.AT_SYMLINK_NOFOLLOW, linux.EOPNOTSUPP), kernel.Path, kernel.Path, kernel.Hex, kernel.Int, kernel.Hex)
	register(linux.SYS_FSETXATTR, xattrFD(linux.EOPNOTSUPP), kernel.FD, kernel.Path, kernel.Hex, kernel.Int, kernel.Hex)
	register(linux.SYS_REMOVEXATTR, xattrAt(0, linux.ENODATA), kernel.Path, kernel.Path)
	register(linux.SYS_LREMOVEXATTR, xattrAt(linux.AT_SYMLINK_NOFOLLOW, linux.ENODATA), kernel.Path, kernel.Path)
	register(linux.SYS_FREMOVEXATTR, xattrFD(linux.ENODATA), kernel.FD, kernel.Path)
}

// xattrAt serves a path-based xattr call: it resolves the path (following
// a final symlink unless flags says not to) and then fails with fail, or
// returns 0 (an empty list) when fail is nil.
func xattrAt(flags uint32, fail error) kernel.SyscallFn {
	return func(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
		if _, err := statAt(t, atFDCWD, a[0], flags); err != nil {
			return 0, err
		}
		return 0, fail
	}
}

// xattrFD serves an fd-based xattr call like xattrAt.
func xattrFD(fail error) kernel.SyscallFn {
	return func(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
		f, _, err := t.FDTable().Get(int32(a[0]))
		if err != nil {
			return 0, err
		}
		f.DecRef()
		return 0, fail
	}
}
