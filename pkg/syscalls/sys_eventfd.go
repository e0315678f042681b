package syscalls

import (
	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/fs/eventfd"
	"bulwark.dev/pkg/kernel"
)

// eventfd and eventfd2. The file is pkg/fs/eventfd.

func init() {
	register(linux.SYS_EVENTFD, sysEventfd, kernel.Int)
	register(linux.SYS_EVENTFD2, sysEventfd2, kernel.Int, kernel.Hex)
}

func eventfd2(t *kernel.Task, initval, flags uint32) (uintptr, error) {
	f, err := eventfd.NewFile(t, uint64(initval), flags)
	if err != nil {
		return 0, err
	}
	return installFile(t, f, flags&linux.EFD_CLOEXEC != 0)
}

// sysEventfd: eventfd(initval).
func sysEventfd(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return eventfd2(t, uint32(a[0]), 0)
}

// sysEventfd2: eventfd2(initval, flags).
func sysEventfd2(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return eventfd2(t, uint32(a[0]), uint32(a[1]))
}
