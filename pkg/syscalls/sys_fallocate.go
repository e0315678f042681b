package syscalls

import (
	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/kernel"
)

// fallocate(2).

func init() {
	register(linux.SYS_FALLOCATE, sysFallocate, kernel.FD, kernel.Hex, kernel.Int, kernel.Int)
}

func sysFallocate(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	f, err := getFile(t, a[0])
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	if f.IsPath() {
		return 0, linux.EBADF
	}
	return 0, f.Allocate(t, uint32(a[1]), int64(a[2]), int64(a[3]))
}
