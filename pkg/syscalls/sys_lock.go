package syscalls

import (
	"encoding/binary"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/kernel"
	"bulwark.dev/pkg/vfs"
)

// Advisory locks: flock(2) and the record-lock commands of fcntl(2).

func init() {
	register(linux.SYS_FLOCK, sysFlock, kernel.FD, kernel.Hex)
}

func sysFlock(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	f, err := getFile(t, a[0])
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	if f.IsPath() {
		return 0, linux.EBADF
	}
	return 0, f.Flock(t, int(int32(a[1])))
}

// flockArg is struct flock.
type flockArg struct {
	typ, whence int16
	start, len  int64
	pid         int32
}

func readFlock(t *kernel.Task, addr uintptr) (flockArg, error) {
	var b [linux.SizeofFlock]byte
	if _, err := t.CopyIn(addr, b[:]); err != nil {
		return flockArg{}, err
	}
	le := binary.LittleEndian
	return flockArg{
		typ: int16(le.Uint16(b[0:])), whence: int16(le.Uint16(b[2:])),
		start: int64(le.Uint64(b[8:])), len: int64(le.Uint64(b[16:])), pid: int32(le.Uint32(b[24:])),
	}, nil
}

func writeFlock(t *kernel.Task, addr uintptr, fl flockArg) error {
	var b [linux.SizeofFlock]byte
	le := binary.LittleEndian
	le.PutUint16(b[0:], uint16(fl.typ))
	le.PutUint16(b[2:], uint16(fl.whence))
	le.PutUint64(b[8:], uint64(fl.start))
	le.PutUint64(b[16:], uint64(fl.len))
	le.PutUint32(b[24:], uint32(fl.pid))
	_, err := t.CopyOut(addr, b[:])
	return err
}

// isLockCmd reports whether cmd is a record-lock command of fcntl.
func isLockCmd(cmd int32) bool {
	switch cmd {
	case linux.F_GETLK, linux.F_SETLK, linux.F_SETLKW, linux.F_OFD_GETLK, linux.F_OFD_SETLK, linux.F_OFD_SETLKW:
		return true
	}
	return false
}

// fcntlLock serves F_GETLK, F_SETLK(W) and their OFD forms on f.
func fcntlLock(t *kernel.Task, f *vfs.File, cmd int32, addr uintptr) (uintptr, error) {
	if f.IsPath() {
		return 0, linux.EBADF
	}
	fl, err := readFlock(t, addr)
	if err != nil {
		return 0, err
	}
	ofd := cmd == linux.F_OFD_GETLK || cmd == linux.F_OFD_SETLK || cmd == linux.F_OFD_SETLKW
	if ofd && fl.pid != 0 {
		return 0, linux.EINVAL
	}
	start, length, err := f.LockRange(t, fl.whence, fl.start, fl.len)
	if err != nil {
		return 0, err
	}
	owner := t.FDTable()
	if ofd {
		owner = nil
	}
	l := vfs.RecordLock{Type: fl.typ, Start: start, Len: length}
	switch cmd {
	case linux.F_GETLK, linux.F_OFD_GETLK:
		got, err := f.TestRecordLock(t, owner, l)
		if err != nil {
			return 0, err
		}
		fl.typ = got.Type
		if got.Type != linux.F_UNLCK {
			fl.whence, fl.start, fl.len, fl.pid = linux.SEEK_SET, got.Start, got.Len, got.PID
		}
		return 0, writeFlock(t, addr, fl)
	default:
		wait := cmd == linux.F_SETLKW || cmd == linux.F_OFD_SETLKW
		return 0, f.SetRecordLock(t, owner, t.PID(), l, wait)
	}
}
