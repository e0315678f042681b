package syscalls

import (
	"encoding/binary"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/kernel"
	"bulwark.dev/pkg/vfs"
)

func init() {
	register(linux.SYS_IOCTL, sysIoctl, kernel.FD, kernel.Hex, kernel.Hex)
}

// sysIoctl handles the generic requests (FIONBIO, FIOCLEX, FIONCLEX,
// FIONREAD on regular files) and the job-control requests on terminals
// (sys_tty.go), and passes the others to the file (termios and window size
// on host ttys, FIONREAD on pipes); ENOTTY otherwise.
func sysIoctl(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	fd, cmd, arg := int32(a[0]), uint32(a[1]), a[2]
	f, _, err := t.FDTable().Get(fd)
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	if f.IsPath() {
		return 0, linux.EBADF
	}
	switch cmd {
	case linux.FIOCLEX, linux.FIONCLEX:
		return 0, t.FDTable().SetFlags(fd, vfs.FDFlags{CloseOnExec: cmd == linux.FIOCLEX})
	case linux.FIOASYNC:
		// The O_ASYNC status flag (F_GETFL shows it): SIGIO to the
		// F_SETOWN owner when I/O is possible.
		if err := setFlagFromArg(t, f, arg, linux.O_ASYNC); err != nil {
			return 0, err
		}
		t.UpdateAsync(f, fd)
		return 0, nil
	case linux.FIONBIO:
		return 0, setFlagFromArg(t, f, arg, linux.O_NONBLOCK)
	case linux.FIONREAD:
		if f.Type(t) == linux.S_IFREG {
			st, err := f.Stat(t)
			if err != nil {
				return 0, err
			}
			pos, err := f.Seek(t, 0, linux.SEEK_CUR)
			if err != nil {
				return 0, err
			}
			n := max(int64(st.Size)-pos, 0)
			var b [4]byte
			binary.LittleEndian.PutUint32(b[:], uint32(min(n, 1<<31-1)))
			_, err = t.CopyOut(arg, b[:])
			return 0, err
		}
	}
	if h, ok := jobControlIoctls[cmd]; ok {
		return h(t, f, arg)
	}
	if f.Type(t) == linux.S_IFSOCK {
		// Interface requests are answered on a socket of any family.
		if r, ok, err := NetStack(t.Kernel()).InterfaceIoctl(t, cmd, arg); ok {
			return r, err
		}
	}
	return f.Ioctl(t, cmd, arg)
}

// setFlagFromArg sets status flag fl of f if the int at arg is not zero,
// else clears it (FIONBIO, FIOASYNC).
func setFlagFromArg(t *kernel.Task, f *vfs.File, arg uintptr, fl uint32) error {
	var b [4]byte
	if _, err := t.CopyIn(arg, b[:]); err != nil {
		return err
	}
	flags := f.StatusFlags() &^ fl
	if binary.LittleEndian.Uint32(b[:]) != 0 {
		flags |= fl
	}
	return f.SetStatusFlags(flags)
}
