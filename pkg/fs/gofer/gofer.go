// Package gofer is the filesystem whose files live on the host, served by
// the gofer process over one fsproto connection per mount. Lookups walk
// one component at a time (".." never reaches the server: the VFS uses its
// dentry tree); opening a file donates a host fd that reads and writes go
// through directly, until the file is first mapped shared: from then on
// its data is cached in memory file pages (cache.go) that mappings share.
//
// A filesystem is exclusive (the sandbox is the only one changing its
// files, --file-access=exclusive) or shared (the host may change them at
// any time). An exclusive one caches attributes, missing names and
// directory listings (attrcache.go) and shares host fds between opens
// (hostfd.go); a shared one asks the gofer every time.
package gofer

import (
	"fmt"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/fs/pipe"
	"bulwark.dev/pkg/fsproto"
	"bulwark.dev/pkg/vfs"
)

// Options configure a filesystem.
type Options struct {
	// Exclusive says the sandbox is the only one changing the files, so
	// that what it learns of them stays true until it changes them itself.
	Exclusive bool
}

// FS is a filesystem over one fsproto connection.
type FS struct {
	client    *fsproto.Client
	root      *inode
	exclusive bool

	// gen is the generation of cached attributes: bumping it drops them
	// all (attrcache.go). It starts at 1; 0 marks attributes not cached.
	gen atomic.Uint64
	fds fdCache

	mu     sync.Mutex      // guards cached; taken after an inode's data lock
	cached map[*inode]bool // inodes with a page cache
}

// New attaches to the mount root served on client (one client per mount).
func New(client *fsproto.Client, opts Options) (*FS, error) {
	fs := &FS{client: client, exclusive: opts.Exclusive}
	fs.gen.Store(1)
	st := attrStamp{gen: 1}
	fid, attr, err := client.Attach()
	if err != nil {
		return nil, fmt.Errorf("attaching to the gofer: %w", err)
	}
	fs.root = fs.newChild(fid, attr, st)
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

// Close writes back and drops the page caches and closes the connection.
func (fs *FS) Close() error {
	fs.mu.Lock()
	inodes := make([]*inode, 0, len(fs.cached))
	for i := range fs.cached {
		inodes = append(inodes, i)
	}
	fs.mu.Unlock()
	var first error
	for _, i := range inodes {
		if err := i.dropCache(); err != nil && first == nil {
			first = fmt.Errorf("writing back a cached file: %w", err)
		}
	}
	fs.fds.flushIdle()
	if err := fs.client.Close(); err != nil {
		return err
	}
	return first
}

func toAttr(a fsproto.Attr) vfs.Attr {
	ts := func(ns int64) linux.Timespec { return linux.Timespec{Sec: ns / 1e9, Nsec: ns % 1e9} }
	return vfs.Attr{
		Mode: a.Mode, UID: a.UID, GID: a.GID, Nlink: uint32(a.Nlink), Size: int64(a.Size),
		Blocks: int64(a.Blocks), BlkSize: a.BlkSize, Ino: a.Ino, Rdev: uint32(a.Rdev),
		Atime: ts(a.Atime), Mtime: ts(a.Mtime), Ctime: ts(a.Ctime),
	}
}

// inode is a file on the host named by a FID. Its attributes are cached
// for walks and permission checks and refreshed by Stat (on an exclusive
// filesystem only when they may have changed). A regular file gets a page
// cache when first mapped shared (see pageCache).
//
// Locking: data → mu → FS.mu → the memory file's lock; fdCache.mu is a
// leaf.
type inode struct {
	fs  *FS
	fid fsproto.FID

	// data is held for reading by I/O that goes to the host directly and
	// for writing by everything that uses or creates the cache, so that a
	// new cache never misses a write in flight.
	data  sync.RWMutex
	cache *pageCache // guarded by data
	opens int        // open regular file descriptions, guarded by data

	mu     sync.Mutex
	attr   vfs.Attr   // guarded by mu
	target string     // symlink target once read, guarded by mu
	fifo   *pipe.Pipe // in-sandbox buffer of a FIFO, guarded by mu
	// The exclusive caches (attrcache.go), guarded by mu: attr is fresh
	// while attrGen is FS.gen; inval counts invalidations; a directory
	// keeps the names it knows are missing and its listing; linked
	// marks a non-directory once seen with several links.
	attrGen uint64
	inval   uint64
	linked  bool
	missing map[string]struct{}
	dirents []vfs.Dirent

	hostFDs *hostFDs // shared host fds (hostfd.go), guarded by FS.fds.mu
}

// CachedAttr implements vfs.CachedAttrer.
func (i *inode) CachedAttr() vfs.Attr {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.attr
}

// Stat implements vfs.Inode with fresh attributes: the cached ones while
// they are known to be fresh, else the host's.
func (i *inode) Stat(vfs.Context) (vfs.Attr, error) {
	i.mu.Lock()
	if i.freshLocked() {
		defer i.mu.Unlock()
		return i.attr, nil
	}
	i.mu.Unlock()
	return i.fetchAttr()
}

// setAttrLocked stores attributes from the host, fetched after st, where
// the page cache (whose data the host may not have yet) has the size and
// modification time. i.data must be held.
func (i *inode) setAttrLocked(a fsproto.Attr, st attrStamp) vfs.Attr {
	at := toAttr(a)
	if c := i.cache; c != nil {
		at.Size = c.size
		if c.mtime.Sec > at.Mtime.Sec || (c.mtime.Sec == at.Mtime.Sec && c.mtime.Nsec > at.Mtime.Nsec) {
			at.Mtime, at.Ctime = c.mtime, c.mtime
		}
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	i.storeAttrLocked(at, st)
	return at
}

// Open implements vfs.Inode.
func (i *inode) Open(ctx vfs.Context, flags uint32) (vfs.FileImpl, error) {
	a := i.CachedAttr()
	switch a.Type() {
	case linux.S_IFDIR:
		return vfs.NoFile{}, nil
	case linux.S_IFREG:
		fd, err := i.getFD(accMode(flags))
		if err != nil {
			return nil, err
		}
		return i.newRegularFD(fd, flags), nil
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
	i.data.Lock()
	defer i.data.Unlock()
	i.invalidate()
	st := i.stamp()
	if err := i.fs.client.SetAttr(i.fid, r); err != nil {
		return err
	}
	if c := i.cache; c != nil {
		if req.Mask&vfs.SetSize != 0 {
			if err := c.truncate(req.Size); err != nil {
				return err
			}
		}
		if req.Mask&vfs.SetMtime != 0 {
			c.mtime = linux.Timespec{} // the host's is the one just set
		}
	}
	a, err := i.fs.client.Stat(i.fid)
	if err != nil {
		return err
	}
	i.setAttrLocked(a, st)
	return nil
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

func errno(err error) error {
	if err == nil {
		return nil
	}
	if e, ok := err.(unix.Errno); ok {
		return linux.Errno(e)
	}
	return linux.EIO
}
