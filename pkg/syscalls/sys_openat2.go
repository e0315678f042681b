package syscalls

import (
	"encoding/binary"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/kernel"
	"bulwark.dev/pkg/vfs"
)

// openat2(2).

func init() {
	register(linux.SYS_OPENAT2, sysOpenat2, kernel.FD, kernel.Path, kernel.Hex, kernel.Int)
}

// maxOpenHow bounds the struct open_how sizes accepted (a page, as Linux's
// copy_struct_from_user allows any size whose extra bytes are zero).
const maxOpenHow = 4096

func sysOpenat2(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	howAddr, size := a[2], a[3]
	if size < linux.SizeofOpenHow {
		return 0, linux.EINVAL
	}
	if size > maxOpenHow {
		return 0, linux.E2BIG
	}
	raw := make([]byte, size)
	if _, err := t.CopyIn(howAddr, raw); err != nil {
		return 0, err
	}
	for _, b := range raw[linux.SizeofOpenHow:] {
		if b != 0 {
			return 0, linux.E2BIG
		}
	}
	le := binary.LittleEndian
	how := vfs.OpenHow{Flags: le.Uint64(raw[0:]), Mode: le.Uint64(raw[8:]), Resolve: le.Uint64(raw[16:])}
	path, err := copyPath(t, a[1])
	if err != nil {
		return 0, err
	}
	dir, err := getDir(t, a[0])
	if err != nil {
		return 0, err
	}
	defer putDir(dir)
	f, err := vfs.OpenAt2(t, t.FSContext(), dir, path, how)
	if err != nil {
		return 0, err
	}
	return installFile(t, f, how.Flags&linux.O_CLOEXEC != 0)
}
