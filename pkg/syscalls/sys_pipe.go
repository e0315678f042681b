package syscalls

import (
	"encoding/binary"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/fs/pipe"
	"bulwark.dev/pkg/kernel"
	"bulwark.dev/pkg/vfs"
)

func init() {
	register(linux.SYS_PIPE, sysPipe, kernel.Hex)
	register(linux.SYS_PIPE2, sysPipe2, kernel.Hex, kernel.OpenFlags)
}

func pipe2(t *kernel.Task, addr uintptr, flags uint32) (uintptr, error) {
	if flags&^(linux.O_CLOEXEC|linux.O_NONBLOCK|linux.O_DIRECT) != 0 {
		return 0, linux.EINVAL
	}
	r, w := pipe.NewPair(t, flags)
	defer r.DecRef()
	defer w.DecRef()
	fdFlags := vfs.FDFlags{CloseOnExec: flags&linux.O_CLOEXEC != 0}
	tab := t.FDTable()
	rfd, err := tab.NewFD(0, r, fdFlags)
	if err != nil {
		return 0, err
	}
	wfd, err := tab.NewFD(0, w, fdFlags)
	if err != nil {
		if f, rerr := tab.Remove(rfd); rerr == nil {
			f.DecRef()
		}
		return 0, err
	}
	var b [8]byte
	binary.LittleEndian.PutUint32(b[0:], uint32(rfd))
	binary.LittleEndian.PutUint32(b[4:], uint32(wfd))
	if _, err := t.CopyOut(addr, b[:]); err != nil {
		for _, fd := range []int32{rfd, wfd} {
			if f, rerr := tab.Remove(fd); rerr == nil {
				f.DecRef()
			}
		}
		return 0, err
	}
	return 0, nil
}

func sysPipe(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return pipe2(t, a[0], 0)
}

func sysPipe2(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return pipe2(t, a[0], uint32(a[1]))
}
