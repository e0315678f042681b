// Package tmpfs is an in-memory filesystem: regular files, directories,
// symlinks, hard links and FIFOs. It backs /tmp, /dev/shm, the overlay's
// upper layer and tests.
package tmpfs

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/mm"
	"bulwark.dev/pkg/vfs"
)

// Options configure a new tmpfs.
type Options struct {
	Mode     uint32 // root directory permissions; 0 means 01777
	UID, GID uint32 // root directory owner
	// MemoryFile holds the data of regular files; nil means
	// mm.DefaultMemoryFile, the sandbox's one, so that shared mappings map
	// the files' own pages.
	MemoryFile *mm.MemoryFile
}

// FS is one tmpfs instance.
type FS struct {
	// mu serializes changes of the directory structure (all directories of
	// this FS), so renames across directories are atomic. Lock order:
	// FS.mu → inode mu.
	mu    sync.Mutex
	root  *Dir
	bytes atomic.Int64 // file data in use, for statfs
	// mf holds file data; set by New from Options or on first use.
	mf atomic.Pointer[mm.MemoryFile]
}

// memoryFile returns the memory file for file data.
func (fs *FS) memoryFile() (*mm.MemoryFile, error) {
	if mf := fs.mf.Load(); mf != nil {
		return mf, nil
	}
	mf, err := mm.DefaultMemoryFile()
	if err != nil {
		return nil, fmt.Errorf("tmpfs: %w", err)
	}
	if fs.mf.CompareAndSwap(nil, mf) {
		return mf, nil
	}
	return fs.mf.Load(), nil
}

// decRefPages drops one reference to each page at the memory file offsets
// offs, a contiguous run at a time.
func decRefPages(mf *mm.MemoryFile, offs []int64) {
	if len(offs) == 0 {
		return
	}
	slices.Sort(offs)
	start, end := offs[0], offs[0]+linux.PageSize
	for _, o := range offs[1:] {
		if o == end {
			end += linux.PageSize
			continue
		}
		mf.DecRef(start, end-start)
		start, end = o, o+linux.PageSize
	}
	mf.DecRef(start, end-start)
}

// New returns an empty tmpfs.
func New(opts Options) *FS {
	fs := &FS{}
	if opts.MemoryFile != nil {
		fs.mf.Store(opts.MemoryFile)
	}
	mode := opts.Mode & linux.PermMask
	if mode == 0 {
		mode = 0o1777
	}
	fs.root = fs.newDir(vfs.CreateOpts{Mode: linux.S_IFDIR | mode, UID: opts.UID, GID: opts.GID})
	fs.root.parent = fs.root
	return fs
}

// Name implements vfs.Filesystem.
func (fs *FS) Name() string { return "tmpfs" }

// Root implements vfs.Filesystem.
func (fs *FS) Root() vfs.Inode { return fs.root }

// RootDir returns the root directory (for overlay and tests).
func (fs *FS) RootDir() *Dir { return fs.root }

// StatFS implements vfs.Filesystem.
func (fs *FS) StatFS(vfs.Context) (linux.Statfs, error) {
	const blocks = 1 << 20 // a nominal 4 GiB
	used := uint64(fs.bytes.Load()+4095) / 4096
	free := uint64(blocks) - min(used, blocks)
	return linux.Statfs{Type: linux.TMPFS_MAGIC, Bsize: 4096, Blocks: blocks, Bfree: free, Bavail: free,
		Files: 1 << 20, Ffree: 1 << 20, Namelen: linux.NAME_MAX, Frsize: 4096}, nil
}

func now() linux.Timespec {
	t := time.Now()
	return linux.Timespec{Sec: t.Unix(), Nsec: int64(t.Nanosecond())}
}

// base holds attributes common to every tmpfs inode.
type base struct {
	fs   *FS
	mu   sync.Mutex
	attr vfs.Attr // guarded by mu
}

func (b *base) init(fs *FS, opts vfs.CreateOpts) {
	t := now()
	b.fs = fs
	b.attr = vfs.Attr{Mode: opts.Mode, UID: opts.UID, GID: opts.GID, Nlink: 1, BlkSize: 4096,
		Ino: vfs.NewIno(), Rdev: opts.Rdev, Atime: t, Mtime: t, Ctime: t}
}

// Stat implements vfs.Inode.
func (b *base) Stat(vfs.Context) (vfs.Attr, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.attr, nil
}

// setAttrLocked applies the non-size parts of req. b.mu must be held.
func (b *base) setAttrLocked(req vfs.SetAttrRequest) {
	t := now()
	if req.Mask&vfs.SetMode != 0 {
		b.attr.Mode = b.attr.Mode&linux.S_IFMT | req.Mode&linux.PermMask
	}
	if req.Mask&vfs.SetUID != 0 {
		b.attr.UID = req.UID
	}
	if req.Mask&vfs.SetGID != 0 {
		b.attr.GID = req.GID
	}
	if req.Mask&vfs.SetAtime != 0 {
		b.attr.Atime = req.Atime
	}
	if req.Mask&vfs.SetMtime != 0 {
		b.attr.Mtime = req.Mtime
	}
	b.attr.Ctime = t
}

// SetAttr implements vfs.SetAttrer for non-regular files.
func (b *base) SetAttr(_ vfs.Context, req vfs.SetAttrRequest) error {
	if req.Mask&vfs.SetSize != 0 {
		return linux.EINVAL
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.setAttrLocked(req)
	return nil
}

func (b *base) addLinks(n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.attr.Nlink = uint32(int(b.attr.Nlink) + n)
	b.attr.Ctime = now()
}

func (b *base) touch(mtime bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	t := now()
	b.attr.Ctime = t
	if mtime {
		b.attr.Mtime = t
	}
}

// tmpfsInode is implemented by every inode of this package.
type tmpfsInode interface {
	vfs.Inode
	b() *base
}

func (b *base) b() *base { return b }
