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
		// Recorded in the status flags (F_GETFL shows O_ASYNC); SIGIO is
		// not delivered yet.
		var b [4]byte
		if _, err := t.CopyIn(arg, b[:]); err != nil {
			return 0, err
		}
		fl := f.StatusFlags() &^ linux.O_ASYNC
		if binary.LittleEndian.Uint32(b[:]) != 0 {
			fl |= linux.O_ASYNC
		}
		return 0, f.SetStatusFlags(fl)
	case linux.FIONBIO:
		var b [4]byte
		if _, err := t.CopyIn(arg, b[:]); err != nil {
			return 0, err
		}
		fl := f.StatusFlags() &^ linux.O_NONBLOCK
		if binary.LittleEndian.Uint32(b[:]) != 0 {
			fl |= linux.O_NONBLOCK
		}
		return 0, f.SetStatusFlags(fl)
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
