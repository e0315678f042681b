package syscalls

import (
	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/fs/inotify"
	"bulwark.dev/pkg/kernel"
	"bulwark.dev/pkg/vfs"
)

// inotify(7): inotify_init, inotify_init1, inotify_add_watch,
// inotify_rm_watch.

func init() {
	register(linux.SYS_INOTIFY_INIT, sysInotifyInit)
	register(linux.SYS_INOTIFY_INIT1, sysInotifyInit1, kernel.Hex)
	register(linux.SYS_INOTIFY_ADD_WATCH, sysInotifyAddWatch, kernel.FD, kernel.Path, kernel.Hex)
	register(linux.SYS_INOTIFY_RM_WATCH, sysInotifyRmWatch, kernel.FD, kernel.Int)
}

func inotifyInit(t *kernel.Task, flags uint32) (uintptr, error) {
	if flags&^(linux.IN_CLOEXEC|linux.IN_NONBLOCK) != 0 {
		return 0, linux.EINVAL
	}
	f, _ := inotify.NewFile(flags)
	return installFile(t, f, flags&linux.IN_CLOEXEC != 0)
}

func sysInotifyInit(t *kernel.Task, _ kernel.SyscallArguments) (uintptr, error) {
	return inotifyInit(t, 0)
}

func sysInotifyInit1(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return inotifyInit(t, uint32(a[0]))
}

// inotifyOf returns the instance behind fd (linux.EINVAL for other files).
func inotifyOf(t *kernel.Task, fd uintptr) (*vfs.File, *inotify.Instance, error) {
	f, err := getFile(t, fd)
	if err != nil {
		return nil, nil, err
	}
	i, ok := f.Impl().(*inotify.Instance)
	if !ok {
		f.DecRef()
		return nil, nil, linux.EINVAL
	}
	return f, i, nil
}

func sysInotifyAddWatch(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	f, inst, err := inotifyOf(t, a[0])
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	mask := uint32(a[2])
	if mask&linux.IN_ALL_EVENTS == 0 {
		return 0, linux.EINVAL
	}
	path, err := copyPath(t, a[1])
	if err != nil {
		return 0, err
	}
	oflags := uint32(linux.O_PATH)
	atFlags := uint32(linux.AT_EACCESS)
	if mask&linux.IN_DONT_FOLLOW != 0 {
		oflags |= linux.O_NOFOLLOW
		atFlags |= linux.AT_SYMLINK_NOFOLLOW
	}
	if mask&linux.IN_ONLYDIR != 0 {
		oflags |= linux.O_DIRECTORY
	}
	target, err := vfs.OpenAt(t, t.FSContext(), nil, path, oflags, 0)
	if err != nil {
		return 0, err
	}
	defer target.DecRef()
	if err := vfs.AccessAt(t, t.FSContext(), nil, path, linux.R_OK, atFlags); err != nil {
		return 0, err
	}
	wd, err := inst.AddWatch(target.Inode(), mask)
	return uintptr(wd), err
}

func sysInotifyRmWatch(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	f, inst, err := inotifyOf(t, a[0])
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	return 0, inst.RemoveWatch(int32(a[1]))
}
