package syscalls

import (
	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/fs/signalfd"
	"bulwark.dev/pkg/kernel"
)

// signalfd and signalfd4. The file is pkg/fs/signalfd.

func init() {
	register(linux.SYS_SIGNALFD, sysSignalfd, kernel.FD, kernel.Hex, kernel.Int)
	register(linux.SYS_SIGNALFD4, sysSignalfd4, kernel.FD, kernel.Hex, kernel.Int, kernel.Hex)
}

// signalfd4 creates a signalfd (fd -1) or changes the mask of one.
func signalfd4(t *kernel.Task, fd int32, maskAddr, size uintptr, flags uint32) (uintptr, error) {
	if size != sigsetSize || flags&^(linux.SFD_NONBLOCK|linux.SFD_CLOEXEC) != 0 {
		return 0, linux.EINVAL
	}
	var mask linux.SignalSet
	if err := kernel.CopyObjectIn(t, maskAddr, &mask); err != nil {
		return 0, err
	}
	if fd == -1 {
		f, err := signalfd.NewFile(t, t, mask, flags)
		if err != nil {
			return 0, err
		}
		return installFile(t, f, flags&linux.SFD_CLOEXEC != 0)
	}
	f, err := getFile(t, uintptr(fd))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	s, ok := signalfd.FromFile(f)
	if !ok {
		return 0, linux.EINVAL
	}
	s.SetMask(mask)
	return uintptr(fd), nil
}

// sysSignalfd: signalfd(fd, mask, sizemask).
func sysSignalfd(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return signalfd4(t, int32(a[0]), a[1], a[2], 0)
}

// sysSignalfd4: signalfd4(fd, mask, sizemask, flags).
func sysSignalfd4(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return signalfd4(t, int32(a[0]), a[1], a[2], uint32(a[3]))
}
