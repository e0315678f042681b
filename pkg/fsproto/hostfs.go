package fsproto

import (
	"bytes"
	"encoding/binary"
	"strings"
	"unsafe"

	"bulwark.dev/pkg/abi/linux"
	"golang.org/x/sys/unix"
)

// fstat stats the file fd refers to (an O_PATH fd works), never following
// a symlink.
func fstat(fd int, st *unix.Stat_t) error {
	return unix.Fstatat(fd, "", st, unix.AT_EMPTY_PATH|unix.AT_SYMLINK_NOFOLLOW)
}

// toAttr converts a host stat.
func toAttr(st *unix.Stat_t) Attr {
	return Attr{
		Mode:    st.Mode,
		UID:     st.Uid,
		GID:     st.Gid,
		Nlink:   st.Nlink,
		Size:    uint64(st.Size),
		Blocks:  uint64(st.Blocks),
		BlkSize: uint32(st.Blksize),
		Ino:     st.Ino,
		Dev:     st.Dev,
		Rdev:    st.Rdev,
		Atime:   st.Atim.Nano(),
		Mtime:   st.Mtim.Nano(),
		Ctime:   st.Ctim.Nano(),
	}
}

// statAttr returns fd's attributes.
func statAttr(fd int) (Attr, error) {
	var st unix.Stat_t
	if err := fstat(fd, &st); err != nil {
		return Attr{}, err
	}
	return toAttr(&st), nil
}

// checkName refuses anything but one plain path component.
func checkName(name string) error {
	switch {
	case name == "" || name == "." || name == "..":
		return linux.EINVAL
	case strings.ContainsAny(name, "/\x00"):
		return linux.EINVAL
	case len(name) > maxName:
		return linux.ENAMETOOLONG
	}
	return nil
}

// openFlags are the open(2) flags a client may pass to Open and Create;
// others are dropped, except the ones refused by checkOpenFlags.
const openFlags = unix.O_ACCMODE | unix.O_APPEND | unix.O_TRUNC | unix.O_NONBLOCK |
	unix.O_DSYNC | unix.O_SYNC | unix.O_DIRECT | unix.O_NOATIME | unix.O_DIRECTORY

// checkOpenFlags validates client open flags and returns the ones to use.
func checkOpenFlags(flags uint32, readOnly bool) (int, error) {
	f := int(flags)
	switch {
	case f&(unix.O_CREAT|unix.O_PATH) != 0, f&unix.O_TMPFILE == unix.O_TMPFILE:
		return 0, linux.EINVAL
	case f&unix.O_ACCMODE == unix.O_ACCMODE:
		return 0, linux.EINVAL
	case readOnly && (f&unix.O_ACCMODE != unix.O_RDONLY || f&unix.O_TRUNC != 0):
		return 0, linux.EROFS
	}
	return f & openFlags, nil
}

// fchmodat2 changes the mode of the file fd refers to (an O_PATH fd works)
// without following a symlink. It needs Linux 6.6.
func fchmodat2(fd int, mode uint32) error {
	p, err := unix.BytePtrFromString("")
	if err != nil {
		return err
	}
	_, _, e := unix.Syscall6(unix.SYS_FCHMODAT2, uintptr(fd), uintptr(unsafe.Pointer(p)), uintptr(mode),
		unix.AT_EMPTY_PATH|unix.AT_SYMLINK_NOFOLLOW, 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

// getdents64 record layout: ino u64, off i64, reclen u16, type u8, name.
const direntHeader = 19

// parseDirent decodes the linux_dirent64 at the start of b and returns it
// with its d_off and record length (0 when b is malformed).
func parseDirent(b []byte) (Dirent, uint64, int) {
	if len(b) < direntHeader {
		return Dirent{}, 0, 0
	}
	reclen := int(binary.LittleEndian.Uint16(b[16:]))
	if reclen < direntHeader || reclen > len(b) {
		return Dirent{}, 0, 0
	}
	name := b[direntHeader:reclen]
	if i := bytes.IndexByte(name, 0); i >= 0 {
		name = name[:i]
	}
	return Dirent{Name: string(name), Ino: binary.LittleEndian.Uint64(b), Type: b[18]},
		binary.LittleEndian.Uint64(b[8:]), reclen
}
