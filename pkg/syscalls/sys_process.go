package syscalls

import (
	"encoding/binary"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/kernel"
	"bulwark.dev/pkg/vfs"
)

// Process lifecycle: fork/vfork/clone, execve, exit, wait, pids, process
// groups and sessions.

// Limits on execve arguments (Linux: MAX_ARG_STRLEN, MAX_ARG_STRINGS and a
// total bounded by a quarter of the default 8 MiB stack).
const (
	maxArgStrlen = 32 * linux.PageSize
	maxArgCount  = 0x7fffffff
	maxArgTotal  = 2 << 20
)

func init() {
	register(linux.SYS_FORK, sysFork)
	register(linux.SYS_VFORK, sysVfork)
	register(linux.SYS_CLONE, sysClone, kernel.Hex, kernel.Hex, kernel.Hex, kernel.Hex, kernel.Hex)
	register(linux.SYS_CLONE3, sysClone3, kernel.Hex, kernel.Int)
	register(linux.SYS_EXECVE, sysExecve, kernel.Path, kernel.StringArray, kernel.StringArray)
	register(linux.SYS_EXECVEAT, sysExecveat, kernel.FD, kernel.Path, kernel.StringArray, kernel.StringArray, kernel.Hex)
	register(linux.SYS_EXIT, sysExit, kernel.Int)
	register(linux.SYS_EXIT_GROUP, sysExitGroup, kernel.Int)
	register(linux.SYS_WAIT4, sysWait4, kernel.Int, kernel.Hex, kernel.Hex, kernel.Hex)
	register(linux.SYS_WAITID, sysWaitid, kernel.Int, kernel.Int, kernel.Hex, kernel.Hex, kernel.Hex)
	register(linux.SYS_GETPID, sysGetpid)
	register(linux.SYS_GETPPID, sysGetppid)
	register(linux.SYS_GETTID, sysGettid)
	register(linux.SYS_GETPGID, sysGetpgid, kernel.Int)
	register(linux.SYS_SETPGID, sysSetpgid, kernel.Int, kernel.Int)
	register(linux.SYS_GETPGRP, sysGetpgrp)
	register(linux.SYS_GETSID, sysGetsid, kernel.Int)
	register(linux.SYS_SETSID, sysSetsid)
}

func sysFork(t *kernel.Task, _ kernel.SyscallArguments) (uintptr, error) {
	pid, err := t.Clone(kernel.CloneOptions{Flags: linux.SIGCHLD})
	return uintptr(pid), err
}

func sysVfork(t *kernel.Task, _ kernel.SyscallArguments) (uintptr, error) {
	pid, err := t.Clone(kernel.CloneOptions{Flags: linux.CLONE_VM | linux.CLONE_VFORK | linux.SIGCHLD})
	return uintptr(pid), err
}

// sysClone: clone(flags, stack, parent_tid, child_tid, tls) on x86-64.
func sysClone(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	pid, err := t.Clone(kernel.CloneOptions{
		Flags: uint64(a[0]), Stack: a[1], ParentTID: a[2], ChildTID: a[3], TLS: a[4],
	})
	return uintptr(pid), err
}

// sysClone3 is not implemented: libcs fall back to clone on ENOSYS.
func sysClone3(*kernel.Task, kernel.SyscallArguments) (uintptr, error) {
	return 0, linux.ENOSYS
}

// copyInArgv reads a NULL-terminated array of string pointers (argv, envp),
// adding the bytes it uses to *total (E2BIG past maxArgTotal).
func copyInArgv(t *kernel.Task, addr uintptr, total *int) ([]string, error) {
	if addr == 0 {
		return nil, nil
	}
	var out []string
	for i := 0; ; i++ {
		if i >= maxArgCount {
			return nil, linux.E2BIG
		}
		var p [8]byte
		if n, err := t.CopyIn(addr+uintptr(8*i), p[:]); err != nil || n != 8 {
			return nil, linux.EFAULT
		}
		ptr := uintptr(binary.LittleEndian.Uint64(p[:]))
		if ptr == 0 {
			return out, nil
		}
		s, err := t.CopyInString(ptr, maxArgStrlen)
		if err == linux.ENAMETOOLONG {
			return nil, linux.E2BIG
		}
		if err != nil {
			return nil, err
		}
		*total += len(s) + 1 + 8
		if *total > maxArgTotal {
			return nil, linux.E2BIG
		}
		out = append(out, s)
	}
}

// execCommon copies in execve's arguments and runs the new program.
func execCommon(t *kernel.Task, dirfd int32, pathAddr, argvAddr, envpAddr uintptr, flags uint32) (uintptr, error) {
	if flags&^(linux.AT_EMPTY_PATH|linux.AT_SYMLINK_NOFOLLOW) != 0 {
		return 0, linux.EINVAL
	}
	path, err := t.CopyInString(pathAddr, linux.PATH_MAX)
	if err != nil {
		return 0, err
	}
	total := 0
	argv, err := copyInArgv(t, argvAddr, &total)
	if err != nil {
		return 0, err
	}
	envv, err := copyInArgv(t, envpAddr, &total)
	if err != nil {
		return 0, err
	}
	opts := kernel.ExecOptions{
		Path: path, Argv: argv, Envv: envv,
		EmptyPath: flags&linux.AT_EMPTY_PATH != 0,
		NoFollow:  flags&linux.AT_SYMLINK_NOFOLLOW != 0,
	}
	if dirfd != linux.AT_FDCWD && (len(path) == 0 || path[0] != '/') {
		var dir *vfs.File
		if dir, _, err = t.FDTable().Get(dirfd); err != nil {
			return 0, err
		}
		defer dir.DecRef()
		opts.Dir = dir
	}
	return 0, t.Execve(opts)
}

func sysExecve(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return execCommon(t, linux.AT_FDCWD, a[0], a[1], a[2], 0)
}

func sysExecveat(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return execCommon(t, int32(a[0]), a[1], a[2], a[3], uint32(a[4]))
}

func sysExit(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	t.Exit(int(a[0]))
	return 0, nil
}

func sysExitGroup(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	t.ExitGroup(int(a[0]))
	return 0, nil
}

// waitOptionsCommon are the options both wait4 and waitid accept.
const waitOptionsCommon = linux.WNOHANG | linux.WNOTHREAD | linux.WALL | linux.WCLONE

// writeZeroRusage writes an all-zero struct rusage (usage is not tracked
// per child yet).
func writeZeroRusage(t *kernel.Task, addr uintptr) error {
	if addr == 0 {
		return nil
	}
	var ru linux.Rusage
	return kernel.CopyObjectOut(t, addr, &ru)
}

// sysWait4: wait4(pid, wstatus, options, rusage).
func sysWait4(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	pid := int32(a[0])
	options := int(uint32(a[2]))
	if options&^(waitOptionsCommon|linux.WUNTRACED|linux.WCONTINUED) != 0 {
		return 0, linux.EINVAL
	}
	var target kernel.WaitTarget
	switch {
	case pid == -1:
		target.Type = linux.P_ALL
	case pid == 0:
		target.Type = linux.P_PGID
	case pid < -1:
		target = kernel.WaitTarget{Type: linux.P_PGID, ID: -pid}
	default:
		target = kernel.WaitTarget{Type: linux.P_PID, ID: pid}
	}
	res, err := t.Wait(target, options|linux.WEXITED)
	if err != nil || res == nil {
		return 0, err
	}
	if a[1] != 0 {
		st := int32(res.Status)
		if err := kernel.CopyObjectOut(t, a[1], &st); err != nil {
			return 0, err
		}
	}
	if err := writeZeroRusage(t, a[3]); err != nil {
		return 0, err
	}
	return uintptr(res.PID), nil
}

// sysWaitid: waitid(idtype, id, infop, options, rusage).
func sysWaitid(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	idtype, id := int(a[0]), int32(a[1])
	options := int(uint32(a[3]))
	if options&^(waitOptionsCommon|linux.WEXITED|linux.WSTOPPED|linux.WCONTINUED|linux.WNOWAIT) != 0 {
		return 0, linux.EINVAL
	}
	target := kernel.WaitTarget{Type: idtype, ID: id}
	switch idtype {
	case linux.P_ALL:
		target.ID = 0
	case linux.P_PID:
		if id <= 0 {
			return 0, linux.EINVAL
		}
	case linux.P_PGID:
		if id < 0 {
			return 0, linux.EINVAL
		}
	default:
		return 0, linux.EINVAL
	}
	res, err := t.Wait(target, options)
	if err != nil {
		return 0, err
	}
	if a[2] != 0 {
		var info linux.SignalInfo
		if res != nil {
			info.Signo = linux.SIGCHLD
			info.Code = res.Code
			binary.LittleEndian.PutUint32(info.Data[linux.SigInfoPidOff:], uint32(res.PID))
			binary.LittleEndian.PutUint32(info.Data[linux.SigInfoUIDOff:], res.UID)
			binary.LittleEndian.PutUint32(info.Data[linux.SigInfoStatusOff:], uint32(res.SiStatus))
		}
		if err := kernel.CopyObjectOut(t, a[2], &info); err != nil {
			return 0, err
		}
	}
	return 0, writeZeroRusage(t, a[4])
}

func sysGetpid(t *kernel.Task, _ kernel.SyscallArguments) (uintptr, error) {
	return uintptr(t.PID()), nil
}

func sysGetppid(t *kernel.Task, _ kernel.SyscallArguments) (uintptr, error) {
	return uintptr(t.PPID()), nil
}

func sysGettid(t *kernel.Task, _ kernel.SyscallArguments) (uintptr, error) {
	return uintptr(t.ThreadID()), nil
}

func sysGetpgid(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	pgid, err := t.GetPGID(int32(a[0]))
	return uintptr(pgid), err
}

func sysSetpgid(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return 0, t.SetPGID(int32(a[0]), int32(a[1]))
}

func sysGetpgrp(t *kernel.Task, _ kernel.SyscallArguments) (uintptr, error) {
	pgid, err := t.GetPGID(0)
	return uintptr(pgid), err
}

func sysGetsid(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	sid, err := t.GetSID(int32(a[0]))
	return uintptr(sid), err
}

func sysSetsid(t *kernel.Task, _ kernel.SyscallArguments) (uintptr, error) {
	sid, err := t.SetSID()
	return uintptr(sid), err
}
