package net

import (
	"fmt"
	"time"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/vfs"
)

// sockDev is the device of socket inodes (Linux's sockfs anonymous device).
var sockDev = vfs.MakeDev(0, 8)

// inode is a socket's inode in sockfs: fstat shows S_IFSOCK.
type inode struct {
	attr vfs.Attr
}

func (i *inode) Stat(vfs.Context) (vfs.Attr, error) { return i.attr, nil }

func (i *inode) Open(vfs.Context, uint32) (vfs.FileImpl, error) { return nil, linux.ENXIO }

// NewFile wraps sock in a new File (one reference) whose inode is a fresh
// sockfs inode owned by the caller; its /proc/self/fd name is
// "socket:[ino]". flags may hold O_NONBLOCK.
func NewFile(ctx vfs.Context, sock Socket, flags uint32) *vfs.File {
	now := time.Now()
	ts := linux.Timespec{Sec: now.Unix(), Nsec: int64(now.Nanosecond())}
	creds := ctx.Credentials()
	in := &inode{attr: vfs.Attr{
		Mode: linux.S_IFSOCK | 0o777, UID: creds.EffectiveUID, GID: creds.EffectiveGID, Nlink: 1,
		BlkSize: 4096, Ino: vfs.NewIno(), Dev: sockDev, Atime: ts, Mtime: ts, Ctime: ts,
	}}
	return vfs.NewFile(in, sock, linux.O_RDWR|flags&linux.O_NONBLOCK, fmt.Sprintf("socket:[%d]", in.attr.Ino))
}

// FromFile returns the socket behind f, or linux.ENOTSOCK.
func FromFile(f *vfs.File) (Socket, error) {
	s, ok := f.Impl().(Socket)
	if !ok {
		return nil, linux.ENOTSOCK
	}
	return s, nil
}

// NonBlocking reports whether an operation on f with MSG_* flags must not
// block.
func NonBlocking(f *vfs.File, flags uint32) bool {
	return flags&linux.MSG_DONTWAIT != 0 || f.StatusFlags()&linux.O_NONBLOCK != 0
}
