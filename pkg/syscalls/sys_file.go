package syscalls

import (
	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/kernel"
	"bulwark.dev/pkg/vfs"
	"encoding/binary"
)

// File-descriptor syscalls: open, close, dup, fcntl, chdir, umask.

func init() {
	register(linux.SYS_OPEN, sysOpen, kernel.Path, kernel.OpenFlags, kernel.Oct)
	register(linux.SYS_OPENAT, sysOpenat, kernel.FD, kernel.Path, kernel.OpenFlags, kernel.Oct)
	register(linux.SYS_CREAT, sysCreat, kernel.Path, kernel.Oct)
	register(linux.SYS_CLOSE, sysClose, kernel.FD)
	register(linux.SYS_CLOSE_RANGE, sysCloseRange, kernel.FD, kernel.FD, kernel.Hex)
	register(linux.SYS_DUP, sysDup, kernel.FD)
	register(linux.SYS_DUP2, sysDup2, kernel.FD, kernel.FD)
	register(linux.SYS_DUP3, sysDup3, kernel.FD, kernel.FD, kernel.OpenFlags)
	register(linux.SYS_FCNTL, sysFcntl, kernel.FD, kernel.Int, kernel.Hex)
	register(linux.SYS_CHDIR, sysChdir, kernel.Path)
	register(linux.SYS_FCHDIR, sysFchdir, kernel.FD)
	register(linux.SYS_GETCWD, sysGetcwd, kernel.Hex, kernel.Int)
	register(linux.SYS_UMASK, sysUmask, kernel.Oct)
}

// atFDCWD is AT_FDCWD as a raw argument.
var atFDCWD = func() uintptr { v := int32(linux.AT_FDCWD); return uintptr(uint32(v)) }()

// getFile returns the file at fd with a reference the caller drops.
func getFile(t *kernel.Task, fd uintptr) (*vfs.File, error) {
	f, _, err := t.FDTable().Get(int32(fd))
	return f, err
}

// getDir returns the starting directory of an *at call: nil for AT_FDCWD,
// else the file at dirfd (referenced; release with putDir).
func getDir(t *kernel.Task, dirfd uintptr) (*vfs.File, error) {
	if int32(dirfd) == linux.AT_FDCWD {
		return nil, nil
	}
	return getFile(t, dirfd)
}

func putDir(f *vfs.File) {
	if f != nil {
		f.DecRef()
	}
}

// copyPath reads a path argument.
func copyPath(t *kernel.Task, addr uintptr) (string, error) {
	if addr == 0 {
		return "", linux.EFAULT
	}
	return t.CopyInString(addr, linux.PATH_MAX)
}

// installFile puts f (whose reference the table takes over) at the lowest
// free fd.
func installFile(t *kernel.Task, f *vfs.File, cloexec bool) (uintptr, error) {
	defer f.DecRef()
	fd, err := t.FDTable().NewFD(0, f, vfs.FDFlags{CloseOnExec: cloexec})
	if err != nil {
		return 0, err
	}
	return uintptr(fd), nil
}

func openat(t *kernel.Task, dirfd, pathAddr uintptr, flags, mode uint32) (uintptr, error) {
	path, err := copyPath(t, pathAddr)
	if err != nil {
		return 0, err
	}
	dir, err := getDir(t, dirfd)
	if err != nil {
		return 0, err
	}
	defer putDir(dir)
	f, err := vfs.OpenAt(t, t.FSContext(), dir, path, flags, mode)
	if err != nil {
		return 0, err
	}
	return installFile(t, f, flags&linux.O_CLOEXEC != 0)
}

func sysOpen(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return openat(t, atFDCWD, a[0], uint32(a[1]), uint32(a[2]))
}

func sysOpenat(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return openat(t, a[0], a[1], uint32(a[2]), uint32(a[3]))
}

func sysCreat(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return openat(t, atFDCWD, a[0], linux.O_WRONLY|linux.O_CREAT|linux.O_TRUNC, uint32(a[1]))
}

func sysClose(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	f, err := t.FDTable().Remove(int32(a[0]))
	if err != nil {
		return 0, err
	}
	f.DecRef()
	return 0, nil
}

func sysCloseRange(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	lo, hi, flags := uint32(a[0]), uint32(a[1]), uint32(a[2])
	if lo > hi || flags&^(linux.CLOSE_RANGE_UNSHARE|linux.CLOSE_RANGE_CLOEXEC) != 0 {
		return 0, linux.EINVAL
	}
	if hi > vfs.MaxFDs {
		hi = vfs.MaxFDs
	}
	if lo >= vfs.MaxFDs {
		return 0, nil
	}
	t.FDTable().CloseRange(int32(lo), int32(hi), flags&linux.CLOSE_RANGE_CLOEXEC != 0)
	return 0, nil
}

func sysDup(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	f, err := getFile(t, a[0])
	if err != nil {
		return 0, err
	}
	return installFile(t, f, false)
}

func dup3(t *kernel.Task, oldfd, newfd int32, cloexec bool) (uintptr, error) {
	f, err := getFile(t, uintptr(oldfd))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	if err := t.FDTable().NewFDAt(newfd, f, vfs.FDFlags{CloseOnExec: cloexec}); err != nil {
		return 0, err
	}
	return uintptr(newfd), nil
}

func sysDup2(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	oldfd, newfd := int32(a[0]), int32(a[1])
	if oldfd == newfd {
		f, err := getFile(t, a[0])
		if err != nil {
			return 0, err
		}
		f.DecRef()
		return uintptr(newfd), nil
	}
	return dup3(t, oldfd, newfd, false)
}

func sysDup3(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	oldfd, newfd, flags := int32(a[0]), int32(a[1]), uint32(a[2])
	if oldfd == newfd || flags&^linux.O_CLOEXEC != 0 {
		return 0, linux.EINVAL
	}
	return dup3(t, oldfd, newfd, flags&linux.O_CLOEXEC != 0)
}

func sysFcntl(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	fd, cmd, arg := int32(a[0]), int32(a[1]), a[2]
	f, flags, err := t.FDTable().Get(fd)
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	if isLockCmd(cmd) {
		return fcntlLock(t, f, cmd, arg)
	}
	switch cmd {
	case linux.F_DUPFD, linux.F_DUPFD_CLOEXEC:
		min := int32(arg)
		if min < 0 || min >= vfs.MaxFDs {
			return 0, linux.EINVAL
		}
		nfd, err := t.FDTable().NewFD(min, f, vfs.FDFlags{CloseOnExec: cmd == linux.F_DUPFD_CLOEXEC})
		return uintptr(nfd), err
	case linux.F_GETFD:
		if flags.CloseOnExec {
			return linux.FD_CLOEXEC, nil
		}
		return 0, nil
	case linux.F_SETFD:
		return 0, t.FDTable().SetFlags(fd, vfs.FDFlags{CloseOnExec: arg&linux.FD_CLOEXEC != 0})
	case linux.F_GETFL:
		return uintptr(f.StatusFlags() | linux.O_LARGEFILE), nil
	case linux.F_SETFL:
		if f.IsPath() {
			return 0, linux.EBADF
		}
		if err := f.SetStatusFlags(uint32(arg)); err != nil {
			return 0, err
		}
		t.UpdateAsync(f, fd)
		return 0, nil
	case linux.F_GETPIPE_SZ:
		if f.Type(t) != linux.S_IFIFO {
			return 0, linux.EINVAL
		}
		return 65536, nil
	case linux.F_SETOWN, linux.F_GETOWN, linux.F_SETOWN_EX, linux.F_GETOWN_EX, linux.F_SETSIG, linux.F_GETSIG:
		ret, err := fcntlOwner(t, f, cmd, arg)
		if err == nil {
			t.UpdateAsync(f, fd)
		}
		return ret, err
	}
	return 0, linux.EINVAL
}

// fcntlOwner serves the O_ASYNC owner commands: who gets SIGIO (or the
// F_SETSIG signal) when I/O is possible (kernel.UpdateAsync). A thread
// owner (F_OWNER_TID) is taken as its process.
func fcntlOwner(t *kernel.Task, f *vfs.File, cmd int32, arg uintptr) (uintptr, error) {
	owner, sig := f.Owner()
	switch cmd {
	case linux.F_SETOWN:
		f.SetOwner(int32(arg))
		return 0, nil
	case linux.F_GETOWN:
		return uintptr(owner), nil
	case linux.F_SETSIG:
		if arg > linux.NumSignals {
			return 0, linux.EINVAL
		}
		f.SetOwnerSignal(int32(arg))
		return 0, nil
	case linux.F_GETSIG:
		return uintptr(sig), nil
	}
	// struct f_owner_ex { int type; pid_t pid; }: F_OWNER_TID 0, F_OWNER_PID 1, F_OWNER_PGRP 2.
	var b [8]byte
	if cmd == linux.F_GETOWN_EX {
		typ, pid := uint32(1), owner
		if owner < 0 {
			typ, pid = 2, -owner
		}
		binary.LittleEndian.PutUint32(b[0:], typ)
		binary.LittleEndian.PutUint32(b[4:], uint32(pid))
		_, err := t.CopyOut(arg, b[:])
		return 0, err
	}
	if _, err := t.CopyIn(arg, b[:]); err != nil {
		return 0, err
	}
	typ, pid := binary.LittleEndian.Uint32(b[0:]), int32(binary.LittleEndian.Uint32(b[4:]))
	switch typ {
	case 0, 1:
		f.SetOwner(pid)
	case 2:
		f.SetOwner(-pid)
	default:
		return 0, linux.EINVAL
	}
	return 0, nil
}

func sysChdir(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	path, err := copyPath(t, a[0])
	if err != nil {
		return 0, err
	}
	return 0, t.FSContext().Chdir(t, nil, path)
}

func sysFchdir(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	f, err := getFile(t, a[0])
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	return 0, t.FSContext().Fchdir(t, f)
}

func sysGetcwd(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	buf, size := a[0], int(a[1])
	wd := t.FSContext().WorkingDirectory()
	b := append([]byte(wd), 0)
	if len(b) > size {
		return 0, linux.ERANGE
	}
	if _, err := t.CopyOut(buf, b); err != nil {
		return 0, err
	}
	return uintptr(len(b)), nil
}

func sysUmask(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return uintptr(t.FSContext().SetUmask(uint32(a[0]) & 0o777)), nil
}
