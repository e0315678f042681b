package syscalls

import (
	"encoding/binary"
	"time"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/kernel"
	"bulwark.dev/pkg/vfs"
)

// Path operations: mkdir, unlink, rename, link, symlink, readlink, access,
// chmod, chown, truncate, utimensat, mknod.

func init() {
	fd, p, o, h, i := kernel.FD, kernel.Path, kernel.Oct, kernel.Hex, kernel.Int
	register(linux.SYS_MKDIR, sysMkdir, p, o)
	register(linux.SYS_MKDIRAT, sysMkdirat, fd, p, o)
	register(linux.SYS_RMDIR, sysRmdir, p)
	register(linux.SYS_UNLINK, sysUnlink, p)
	register(linux.SYS_UNLINKAT, sysUnlinkat, fd, p, h)
	register(linux.SYS_RENAME, sysRename, p, p)
	register(linux.SYS_RENAMEAT, sysRenameat, fd, p, fd, p)
	register(linux.SYS_RENAMEAT2, sysRenameat2, fd, p, fd, p, h)
	register(linux.SYS_LINK, sysLink, p, p)
	register(linux.SYS_LINKAT, sysLinkat, fd, p, fd, p, h)
	register(linux.SYS_SYMLINK, sysSymlink, p, p)
	register(linux.SYS_SYMLINKAT, sysSymlinkat, p, fd, p)
	register(linux.SYS_READLINK, sysReadlink, p, h, i)
	register(linux.SYS_READLINKAT, sysReadlinkat, fd, p, h, i)
	register(linux.SYS_ACCESS, sysAccess, p, o)
	register(linux.SYS_FACCESSAT, sysFaccessat, fd, p, o)
	register(linux.SYS_FACCESSAT2, sysFaccessat2, fd, p, o, h)
	register(linux.SYS_CHMOD, sysChmod, p, o)
	register(linux.SYS_FCHMOD, sysFchmod, fd, o)
	register(linux.SYS_FCHMODAT, sysFchmodat, fd, p, o)
	register(linux.SYS_CHOWN, sysChown, p, i, i)
	register(linux.SYS_FCHOWN, sysFchown, fd, i, i)
	register(linux.SYS_LCHOWN, sysLchown, p, i, i)
	register(linux.SYS_FCHOWNAT, sysFchownat, fd, p, i, i, h)
	register(linux.SYS_TRUNCATE, sysTruncate, p, i)
	register(linux.SYS_FTRUNCATE, sysFtruncate, fd, i)
	register(linux.SYS_UTIMENSAT, sysUtimensat, fd, p, h, h)
	register(linux.SYS_MKNOD, sysMknod, p, o, h)
	register(linux.SYS_MKNODAT, sysMknodat, fd, p, o, h)
}

// withPath runs fn with the path at pathAddr and the directory of dirfd.
func withPath(t *kernel.Task, dirfd, pathAddr uintptr, fn func(dir *vfs.File, path string) error) (uintptr, error) {
	path, err := copyPath(t, pathAddr)
	if err != nil {
		return 0, err
	}
	dir, err := getDir(t, dirfd)
	if err != nil {
		return 0, err
	}
	defer putDir(dir)
	return 0, fn(dir, path)
}

// withTwoPaths is withPath for calls with an old and a new path.
func withTwoPaths(t *kernel.Task, oldfd, oldAddr, newfd, newAddr uintptr, fn func(od *vfs.File, op string, nd *vfs.File, np string) error) (uintptr, error) {
	return withPath(t, oldfd, oldAddr, func(od *vfs.File, op string) error {
		_, err := withPath(t, newfd, newAddr, func(nd *vfs.File, np string) error {
			return fn(od, op, nd, np)
		})
		return err
	})
}

func mkdirat(t *kernel.Task, dirfd, path uintptr, mode uint32) (uintptr, error) {
	return withPath(t, dirfd, path, func(d *vfs.File, p string) error {
		return vfs.MkdirAt(t, t.FSContext(), d, p, mode)
	})
}

func sysMkdir(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return mkdirat(t, atFDCWD, a[0], uint32(a[1]))
}

func sysMkdirat(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return mkdirat(t, a[0], a[1], uint32(a[2]))
}

func unlinkat(t *kernel.Task, dirfd, path uintptr, flags uint32) (uintptr, error) {
	if flags&^linux.AT_REMOVEDIR != 0 {
		return 0, linux.EINVAL
	}
	return withPath(t, dirfd, path, func(d *vfs.File, p string) error {
		return vfs.UnlinkAt(t, t.FSContext(), d, p, flags)
	})
}

func sysRmdir(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return unlinkat(t, atFDCWD, a[0], linux.AT_REMOVEDIR)
}

func sysUnlink(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return unlinkat(t, atFDCWD, a[0], 0)
}

func sysUnlinkat(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return unlinkat(t, a[0], a[1], uint32(a[2]))
}

func renameat(t *kernel.Task, oldfd, oldp, newfd, newp uintptr, flags uint32) (uintptr, error) {
	return withTwoPaths(t, oldfd, oldp, newfd, newp, func(od *vfs.File, op string, nd *vfs.File, np string) error {
		return vfs.RenameAt(t, t.FSContext(), od, op, nd, np, flags)
	})
}

func sysRename(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return renameat(t, atFDCWD, a[0], atFDCWD, a[1], 0)
}

func sysRenameat(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return renameat(t, a[0], a[1], a[2], a[3], 0)
}

func sysRenameat2(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return renameat(t, a[0], a[1], a[2], a[3], uint32(a[4]))
}

func linkat(t *kernel.Task, oldfd, oldp, newfd, newp uintptr, flags uint32) (uintptr, error) {
	if flags&^(linux.AT_SYMLINK_FOLLOW|linux.AT_EMPTY_PATH) != 0 {
		return 0, linux.EINVAL
	}
	return withTwoPaths(t, oldfd, oldp, newfd, newp, func(od *vfs.File, op string, nd *vfs.File, np string) error {
		return vfs.LinkAt(t, t.FSContext(), od, op, nd, np, flags)
	})
}

func sysLink(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return linkat(t, atFDCWD, a[0], atFDCWD, a[1], 0)
}

func sysLinkat(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return linkat(t, a[0], a[1], a[2], a[3], uint32(a[4]))
}

func symlinkat(t *kernel.Task, target, dirfd, path uintptr) (uintptr, error) {
	tgt, err := copyPath(t, target)
	if err != nil {
		return 0, err
	}
	return withPath(t, dirfd, path, func(d *vfs.File, p string) error {
		return vfs.SymlinkAt(t, t.FSContext(), tgt, d, p)
	})
}

func sysSymlink(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return symlinkat(t, a[0], atFDCWD, a[1])
}

func sysSymlinkat(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return symlinkat(t, a[0], a[1], a[2])
}

func readlinkat(t *kernel.Task, dirfd, path, buf uintptr, size int) (uintptr, error) {
	if size <= 0 {
		return 0, linux.EINVAL
	}
	var target string
	if _, err := withPath(t, dirfd, path, func(d *vfs.File, p string) error {
		var err error
		target, err = vfs.ReadlinkAt(t, t.FSContext(), d, p)
		return err
	}); err != nil {
		return 0, err
	}
	b := []byte(target)[:min(len(target), size)]
	if _, err := t.CopyOut(buf, b); err != nil {
		return 0, err
	}
	return uintptr(len(b)), nil
}

func sysReadlink(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return readlinkat(t, atFDCWD, a[0], a[1], int(int32(a[2])))
}

func sysReadlinkat(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return readlinkat(t, a[0], a[1], a[2], int(int32(a[3])))
}

func faccessat(t *kernel.Task, dirfd, path uintptr, mode, flags uint32) (uintptr, error) {
	if flags&^(linux.AT_EACCESS|linux.AT_SYMLINK_NOFOLLOW|linux.AT_EMPTY_PATH) != 0 {
		return 0, linux.EINVAL
	}
	return withPath(t, dirfd, path, func(d *vfs.File, p string) error {
		return vfs.AccessAt(t, t.FSContext(), d, p, mode, flags)
	})
}

func sysAccess(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return faccessat(t, atFDCWD, a[0], uint32(a[1]), 0)
}

func sysFaccessat(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return faccessat(t, a[0], a[1], uint32(a[2]), 0)
}

func sysFaccessat2(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return faccessat(t, a[0], a[1], uint32(a[2]), uint32(a[3]))
}

// setAttrAt applies req to a path (flags: AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH).
func setAttrAt(t *kernel.Task, dirfd, path uintptr, flags uint32, req vfs.SetAttrRequest) (uintptr, error) {
	if path == 0 && flags&linux.AT_EMPTY_PATH != 0 {
		return setAttrFD(t, dirfd, req)
	}
	return withPath(t, dirfd, path, func(d *vfs.File, p string) error {
		return vfs.SetAttrAt(t, t.FSContext(), d, p, flags, req)
	})
}

// setAttrFD applies req to an open file.
func setAttrFD(t *kernel.Task, fd uintptr, req vfs.SetAttrRequest) (uintptr, error) {
	f, err := getFile(t, fd)
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	return 0, f.SetAttr(t, req)
}

func chmodReq(mode uintptr) vfs.SetAttrRequest {
	return vfs.SetAttrRequest{Mask: vfs.SetMode, Mode: uint32(mode) & linux.PermMask}
}

func sysChmod(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return setAttrAt(t, atFDCWD, a[0], 0, chmodReq(a[1]))
}

func sysFchmod(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return setAttrFD(t, a[0], chmodReq(a[1]))
}

func sysFchmodat(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return setAttrAt(t, a[0], a[1], 0, chmodReq(a[2]))
}

// chownReq builds a chown request; -1 leaves an id unchanged.
func chownReq(uid, gid uintptr) vfs.SetAttrRequest {
	var r vfs.SetAttrRequest
	if int32(uid) != -1 {
		r.Mask |= vfs.SetUID
		r.UID = uint32(uid)
	}
	if int32(gid) != -1 {
		r.Mask |= vfs.SetGID
		r.GID = uint32(gid)
	}
	return r
}

func sysChown(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return setAttrAt(t, atFDCWD, a[0], 0, chownReq(a[1], a[2]))
}

func sysFchown(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return setAttrFD(t, a[0], chownReq(a[1], a[2]))
}

func sysLchown(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return setAttrAt(t, atFDCWD, a[0], linux.AT_SYMLINK_NOFOLLOW, chownReq(a[1], a[2]))
}

func sysFchownat(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	flags := uint32(a[4])
	if flags&^(linux.AT_SYMLINK_NOFOLLOW|linux.AT_EMPTY_PATH) != 0 {
		return 0, linux.EINVAL
	}
	if flags&linux.AT_EMPTY_PATH != 0 {
		// An empty string (not NULL) names dirfd itself.
		if p, err := copyPath(t, a[1]); err == nil && p == "" {
			return setAttrFD(t, a[0], chownReq(a[2], a[3]))
		}
	}
	return setAttrAt(t, a[0], a[1], flags, chownReq(a[2], a[3]))
}

func sysTruncate(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	size := int64(a[1])
	if size < 0 {
		return 0, linux.EINVAL
	}
	return setAttrAt(t, atFDCWD, a[0], 0, vfs.SetAttrRequest{Mask: vfs.SetSize, Size: size})
}

func sysFtruncate(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	f, err := getFile(t, a[0])
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	return 0, f.Truncate(t, int64(a[1]))
}

// utimesReq builds the request of utimensat from its times argument.
func utimesReq(t *kernel.Task, addr uintptr) (vfs.SetAttrRequest, error) {
	n := time.Now()
	now := linux.Timespec{Sec: n.Unix(), Nsec: int64(n.Nanosecond())}
	req := vfs.SetAttrRequest{Mask: vfs.SetAtime | vfs.SetMtime, Atime: now, Mtime: now, TimesNow: true}
	if addr == 0 {
		return req, nil
	}
	var b [32]byte
	if _, err := t.CopyIn(addr, b[:]); err != nil {
		return req, err
	}
	req.Mask, req.TimesNow = 0, true
	for i, bit := range []vfs.SetAttrMask{vfs.SetAtime, vfs.SetMtime} {
		ts := linux.Timespec{Sec: int64(binary.LittleEndian.Uint64(b[16*i:])), Nsec: int64(binary.LittleEndian.Uint64(b[16*i+8:]))}
		switch ts.Nsec {
		case linux.UTIME_OMIT:
			continue
		case linux.UTIME_NOW:
			ts = now
		default:
			if ts.Nsec < 0 || ts.Nsec >= 1e9 {
				return req, linux.EINVAL
			}
			req.TimesNow = false
		}
		req.Mask |= bit
		if i == 0 {
			req.Atime = ts
		} else {
			req.Mtime = ts
		}
	}
	return req, nil
}

func sysUtimensat(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	flags := uint32(a[3])
	if flags&^(linux.AT_SYMLINK_NOFOLLOW|linux.AT_EMPTY_PATH) != 0 {
		return 0, linux.EINVAL
	}
	req, err := utimesReq(t, a[2])
	if err != nil {
		return 0, err
	}
	if req.Mask == 0 {
		return 0, nil
	}
	if a[1] == 0 {
		// futimens: NULL path means dirfd itself.
		return setAttrFD(t, a[0], req)
	}
	return setAttrAt(t, a[0], a[1], flags, req)
}

func mknodat(t *kernel.Task, dirfd, path uintptr, mode, dev uint32) (uintptr, error) {
	return withPath(t, dirfd, path, func(d *vfs.File, p string) error {
		return vfs.MknodAt(t, t.FSContext(), d, p, mode, dev)
	})
}

func sysMknod(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return mknodat(t, atFDCWD, a[0], uint32(a[1]), uint32(a[2]))
}

func sysMknodat(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return mknodat(t, a[0], a[1], uint32(a[2]), uint32(a[3]))
}
