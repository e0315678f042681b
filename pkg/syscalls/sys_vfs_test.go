package syscalls

import (
	"encoding/binary"
	"testing"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/vfs"
)

func TestFileSyscallsRegistered(t *testing.T) {
	for _, nr := range []uintptr{
		linux.SYS_READ, linux.SYS_WRITE, linux.SYS_PREAD64, linux.SYS_PWRITE64, linux.SYS_READV,
		linux.SYS_WRITEV, linux.SYS_PREADV, linux.SYS_PWRITEV, linux.SYS_LSEEK, linux.SYS_OPEN,
		linux.SYS_OPENAT, linux.SYS_CREAT, linux.SYS_CLOSE, linux.SYS_CLOSE_RANGE, linux.SYS_DUP,
		linux.SYS_DUP2, linux.SYS_DUP3, linux.SYS_FCNTL, linux.SYS_PIPE, linux.SYS_PIPE2,
		linux.SYS_STAT, linux.SYS_LSTAT, linux.SYS_FSTAT, linux.SYS_NEWFSTATAT, linux.SYS_STATX,
		linux.SYS_STATFS, linux.SYS_FSTATFS, linux.SYS_GETDENTS, linux.SYS_GETDENTS64,
		linux.SYS_READLINK, linux.SYS_READLINKAT, linux.SYS_ACCESS, linux.SYS_FACCESSAT,
		linux.SYS_FACCESSAT2, linux.SYS_MKDIR, linux.SYS_MKDIRAT, linux.SYS_RMDIR, linux.SYS_UNLINK,
		linux.SYS_UNLINKAT, linux.SYS_RENAME, linux.SYS_RENAMEAT, linux.SYS_RENAMEAT2, linux.SYS_LINK,
		linux.SYS_LINKAT, linux.SYS_SYMLINK, linux.SYS_SYMLINKAT, linux.SYS_CHDIR, linux.SYS_FCHDIR,
		linux.SYS_GETCWD, linux.SYS_UMASK, linux.SYS_CHMOD, linux.SYS_FCHMOD, linux.SYS_FCHMODAT,
		linux.SYS_CHOWN, linux.SYS_FCHOWN, linux.SYS_LCHOWN, linux.SYS_FCHOWNAT, linux.SYS_TRUNCATE,
		linux.SYS_FTRUNCATE, linux.SYS_FSYNC, linux.SYS_FDATASYNC, linux.SYS_SYNC, linux.SYS_UTIMENSAT,
		linux.SYS_MKNOD, linux.SYS_MKNODAT, linux.SYS_IOCTL, linux.SYS_SENDFILE,
	} {
		if _, ok := Table()[nr]; !ok {
			t.Errorf("%s not registered", linux.SyscallNames[nr])
		}
	}
}

func TestDirentLayout(t *testing.T) {
	d := vfs.Dirent{Name: "hello", Ino: 42, Type: linux.DT_REG}
	b := appendDirent(nil, d, 7, true)
	if len(b) != 32 || direntSize("hello", true) != 32 {
		t.Fatalf("dirent64 size %d", len(b))
	}
	if binary.LittleEndian.Uint64(b) != 42 || binary.LittleEndian.Uint64(b[8:]) != 7 ||
		binary.LittleEndian.Uint16(b[16:]) != 32 || b[18] != linux.DT_REG || string(b[19:24]) != "hello" || b[24] != 0 {
		t.Fatalf("dirent64 bytes %v", b)
	}
	b = appendDirent(nil, d, 7, false)
	if len(b) != 32 || b[len(b)-1] != linux.DT_REG || string(b[18:23]) != "hello" || b[23] != 0 {
		t.Fatalf("dirent bytes %v", b)
	}
	// 19+13+1 = 33 rounds up to 40.
	if n := direntSize("thirteen-char", true); n != 40 {
		t.Fatalf("size %d", n)
	}
}

func TestStructSizes(t *testing.T) {
	for _, c := range []struct {
		v    any
		want int
	}{{&linux.Stat{}, 144}, {&linux.Statx{}, 256}, {&linux.Statfs{}, 120}} {
		if n := binary.Size(c.v); n != c.want {
			t.Errorf("%T: %d bytes, want %d", c.v, n, c.want)
		}
	}
}
