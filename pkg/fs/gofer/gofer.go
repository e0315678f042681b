// Package gofer is the filesystem whose files live on the host, served by
// the gofer process over one fsproto connection per mount. Lookups walk
// one component at a time (".." never reaches the server: the VFS uses its
// dentry tree); opening a file donates a host fd that reads and writes go
// through directly.
package gofer

import (
	"fmt"
	"sync"

	"golang.org/x/sys/unix"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/fs/pipe"
	"bulwark.dev/pkg/fsproto"
	"bulwark.dev/pkg/vfs"
)

// FS is a filesystem over one fsproto connection.
type FS struct {
	client *fsproto.Client
	root   *inode
}

// New attaches to the mount root served on client (one client per mount).
func New(client *fsproto.Client) (*FS, error) {
	fid, attr, err := client.Attach()
	if err != nil {
		return nil, fmt.Errorf("attaching to the gofer: %w", err)
	}
	fs := &FS{client: client}
	fs.root = fs.newInode(fid, attr)
	return fs, nil
}

// Name implements vfs.Filesystem.
func (fs *FS) Name() string { return "9p" }

// Root implements vfs.Filesystem.
func (fs *FS) Root() vfs.Inode { return fs.root }

// StatFS implements vfs.Filesystem.
func (fs *FS) StatFS(vfs.Context) (linux.Statfs, error) {
	s, err := fs.client.StatFS(fs.root.fid)
	if err != nil {
		return linux.Statfs{}, err
	}
	return linux.Statfs{Type: linux.V9FS_MAGIC, Bsize: int64(s.BlockSize), Blocks: s.Blocks,
		Bfree: s.BlocksFree, Bavail: s.BlocksAvail, Files: s.Files, Ffree: s.FilesFree,
		Namelen: int64(s.NameLen), Frsize: int64(s.BlockSize)}, nil
}

// Close closes the connection.
func (fs *FS) Close() error { return fs.client.Close() }

func toAttr(a fsproto.Attr) vfs.Attr {
	ts := func(ns int64) linux.Timespec { return linux.Timespec{Sec: ns / 1e9, Nsec: ns % 1e9} }
	return vfs.Attr{
		Mode: a.Mode, UID: a.UID, GID: a.GID, Nlink: uint32(a.Nlink), Size: int64(a.Size),
		Blocks: int64(a.Blocks), BlkSize: a.BlkSize, Ino: a.Ino, Rdev: uint32(a.Rdev),
		Atime: ts(a.Atime), Mtime: ts(a.Mtime), Ctime: ts(a.Ctime),
	}
}

// inode is a file on the host named by a FID. Its attributes are cached
// for walks and permission checks and refreshed by Stat.
type inode struct {
	fs  *FS
	fid fsproto.FID

	mu     sync.Mutex
	attr   vfs.Attr   // guarded by mu
	target string     // symlink target once read, guarded by mu
	fifo   *pipe.Pipe // in-sandbox buffer of a FIFO, guarded by mu
}

func (fs *FS) newInode(fid fsproto.FID, a fsproto.Attr) *inode {
	return &inode{fs: fs, fid: fid, attr: toAttr(a)}
}

// CachedAttr implements vfs.CachedAttrer.
func (i *inode) CachedAttr() vfs.Attr {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.attr
}

// Stat implements vfs.Inode with fresh attributes.
func (i *inode) Stat(vfs.Context) (vfs.Attr, error) {
	a, err := i.fs.client.Stat(i.fid)
	if err != nil {
		return vfs.Attr{}, err
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	i.attr = toAttr(a)
	return i.attr, nil
}

// Open implements vfs.Inode.
func (i *inode) Open(ctx vfs.Context, flags uint32) (vfs.FileImpl, error) {
	a := i.CachedAttr()
	switch a.Type() {
	case linux.S_IFDIR:
		return vfs.NoFile{}, nil
	case linux.S_IFREG:
		fd, err := i.fs.client.Open(i.fid, flags&linux.O_ACCMODE)
		if err != nil {
			return nil, err
		}
		return &regularFD{inode: i, fd: fd}, nil
	case linux.S_IFIFO:
		i.mu.Lock()
		if i.fifo == nil {
			i.fifo = pipe.New()
		}
		p := i.fifo
		i.mu.Unlock()
		return p.Open(ctx, flags)
	case linux.S_IFCHR:
		return vfs.OpenCharDevice(ctx, a.Rdev, flags)
	}
	return nil, linux.ENXIO
}

// SetAttr implements vfs.SetAttrer.
func (i *inode) SetAttr(_ vfs.Context, req vfs.SetAttrRequest) error {
	var r fsproto.SetAttrRequest
	for _, m := range []struct{ v, p uint32 }{
		{uint32(vfs.SetMode), uint32(fsproto.SetMode)}, {uint32(vfs.SetUID), uint32(fsproto.SetUID)},
		{uint32(vfs.SetGID), uint32(fsproto.SetGID)}, {uint32(vfs.SetSize), uint32(fsproto.SetSize)},
		{uint32(vfs.SetAtime), uint32(fsproto.SetAtime)}, {uint32(vfs.SetMtime), uint32(fsproto.SetMtime)},
	} {
		if uint32(req.Mask)&m.v != 0 {
			r.Mask |= fsproto.SetAttrMask(m.p)
		}
	}
	r.Mode, r.UID, r.GID, r.Size = req.Mode, req.UID, req.GID, uint64(req.Size)
	r.Atime = req.Atime.Sec*1e9 + req.Atime.Nsec
	r.Mtime = req.Mtime.Sec*1e9 + req.Mtime.Nsec
	if err := i.fs.client.SetAttr(i.fid, r); err != nil {
		return err
	}
	_, err := i.Stat(nil)
	return err
}

// Readlink implements vfs.SymlinkInode (targets are cached: symlinks
// never change).
func (i *inode) Readlink(vfs.Context) (string, error) {
	i.mu.Lock()
	t := i.target
	i.mu.Unlock()
	if t != "" {
		return t, nil
	}
	t, err := i.fs.client.Readlink(i.fid)
	if err != nil {
		return "", err
	}
	i.mu.Lock()
	i.target = t
	i.mu.Unlock()
	return t, nil
}

// regularFD is an open regular file: I/O goes to the donated host fd.
type regularFD struct {
	inode *inode
	fd    int
	once  sync.Once
}

func (r *regularFD) Read(_ vfs.Context, _ *vfs.File, dst []byte, off int64) (int, error) {
	for {
		n, err := unix.Pread(r.fd, dst, off)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, errno(err)
		}
		return n, nil
	}
}

func (r *regularFD) Write(_ vfs.Context, _ *vfs.File, src []byte, off int64) (int, error) {
	for {
		n, err := unix.Pwrite(r.fd, src, off)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, errno(err)
		}
		return n, nil
	}
}

func (r *regularFD) Release() { r.once.Do(func() { unix.Close(r.fd) }) }

// Sync implements vfs.Syncer.
func (r *regularFD) Sync(vfs.Context) error { return errno(unix.Fsync(r.fd)) }

func errno(err error) error {
	if err == nil {
		return nil
	}
	if e, ok := err.(unix.Errno); ok {
		return linux.Errno(e)
	}
	return linux.EIO
}
