package syscalls

import (
	"encoding/binary"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/kernel"
	"bulwark.dev/pkg/vfs"
)

// Directory listing: getdents and getdents64.

func init() {
	register(linux.SYS_GETDENTS, sysGetdents, kernel.FD, kernel.Hex, kernel.Int)
	register(linux.SYS_GETDENTS64, sysGetdents64, kernel.FD, kernel.Hex, kernel.Int)
}

// direntSize returns the record length of a dirent for name.
func direntSize(name string, is64 bool) int {
	if is64 {
		return (19 + len(name) + 1 + 7) &^ 7 // ino, off, reclen, type, name, NUL
	}
	return (18 + len(name) + 2 + 7) &^ 7 // ino, off, reclen, name, NUL, type
}

// appendDirent serializes one linux_dirent64 or linux_dirent.
func appendDirent(b []byte, d vfs.Dirent, next int64, is64 bool) []byte {
	size := direntSize(d.Name, is64)
	rec := make([]byte, size)
	binary.LittleEndian.PutUint64(rec[0:], d.Ino)
	binary.LittleEndian.PutUint64(rec[8:], uint64(next))
	binary.LittleEndian.PutUint16(rec[16:], uint16(size))
	if is64 {
		rec[18] = d.Type
		copy(rec[19:], d.Name)
	} else {
		copy(rec[18:], d.Name)
		rec[size-1] = d.Type
	}
	return append(b, rec...)
}

// getdents fills the task's buffer with as many entries as fit.
func getdents(t *kernel.Task, a kernel.SyscallArguments, is64 bool) (uintptr, error) {
	f, err := getFile(t, a[0])
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	addr, size := a[1], int(min(a[2], 1<<20))
	var buf []byte
	err = f.Readdir(t, func(d vfs.Dirent, next int64) bool {
		if len(buf)+direntSize(d.Name, is64) > size {
			return false
		}
		buf = appendDirent(buf, d, next, is64)
		return true
	})
	if err != nil {
		return 0, err
	}
	if len(buf) == 0 {
		// Either the end, or a buffer too small for the next entry.
		probe := false
		f.Readdir(t, func(vfs.Dirent, int64) bool { probe = true; return false })
		if probe {
			return 0, linux.EINVAL
		}
		return 0, nil
	}
	if _, err := t.CopyOut(addr, buf); err != nil {
		return 0, err
	}
	return uintptr(len(buf)), nil
}

func sysGetdents(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return getdents(t, a, false)
}

func sysGetdents64(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return getdents(t, a, true)
}
