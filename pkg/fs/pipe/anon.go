package pipe

import (
	"fmt"
	"time"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/vfs"
)

// inode is the inode of an anonymous pipe (in Linux, of pipefs).
type inode struct {
	attr vfs.Attr
	p    *Pipe
}

func (i *inode) Stat(vfs.Context) (vfs.Attr, error) { return i.attr, nil }

// Open opens the pipe again (through /proc/[pid]/fd/N) with the access
// mode of flags. Unlike a FIFO's open it never waits for the other end,
// like Linux for pipefs inodes.
func (i *inode) Open(_ vfs.Context, flags uint32) (vfs.FileImpl, error) {
	if i.p == nil {
		return nil, linux.ENXIO
	}
	switch flags & linux.O_ACCMODE {
	case linux.O_RDONLY:
		return i.p.newEnd(true, false), nil
	case linux.O_WRONLY:
		return i.p.newEnd(false, true), nil
	case linux.O_RDWR:
		return i.p.newEnd(true, true), nil
	}
	return nil, linux.EINVAL
}

// NewPair returns the read and write ends of a new anonymous pipe as Files
// (one reference each). flags may hold O_NONBLOCK (O_CLOEXEC is per fd:
// the caller handles it).
func NewPair(ctx vfs.Context, flags uint32) (r, w *vfs.File) {
	now := time.Now()
	ts := linux.Timespec{Sec: now.Unix(), Nsec: int64(now.Nanosecond())}
	creds := ctx.Credentials()
	in := &inode{attr: vfs.Attr{
		Mode: linux.S_IFIFO | 0o600, UID: creds.EffectiveUID, GID: creds.EffectiveGID, Nlink: 1,
		BlkSize: 4096, Ino: vfs.NewIno(), Dev: pipeDev, Atime: ts, Mtime: ts, Ctime: ts,
	}}
	name := fmt.Sprintf("pipe:[%d]", in.attr.Ino)
	p := New()
	in.p = p
	st := flags & linux.O_NONBLOCK
	r = vfs.NewFile(in, p.newEnd(true, false), linux.O_RDONLY|st, name)
	w = vfs.NewFile(in, p.newEnd(false, true), linux.O_WRONLY|st, name)
	return r, w
}

// pipeDev is the device of anonymous pipes (pipefs's anonymous device).
var pipeDev = vfs.MakeDev(0, 12)
