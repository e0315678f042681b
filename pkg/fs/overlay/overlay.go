// Package overlay stacks a writable upper filesystem (a tmpfs) over a
// lower one (usually the read-only gofer root): lookups and directory
// listings merge both layers, changes copy files up into the upper layer,
// and deletions of lower files leave whiteouts in the upper layer. Writes
// never reach the lower layer.
package overlay

import (
	"sync"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/kernel/auth"
	"bulwark.dev/pkg/vfs"
)

// Whiteouts are character devices 0/0 in the upper layer (as in Linux's
// overlayfs); an opaque directory (which hides the lower one) holds a
// marker entry instead of Linux's xattr.
const opaqueMarker = ".wh..wh..opq"

// FS is an overlay filesystem.
type FS struct {
	upper, lower vfs.Filesystem
	// mu serializes lookups and changes of the overlay tree (children
	// maps, copy-up, whiteouts). Lock order: VFS dentry locks → mu →
	// the layers' locks.
	mu   sync.Mutex
	root *inode
}

// New returns an overlay of upper (writable, e.g. a tmpfs) over lower.
func New(upper, lower vfs.Filesystem) (*FS, error) {
	fs := &FS{upper: upper, lower: lower}
	fs.root = &inode{fs: fs, upper: upper.Root(), lower: lower.Root()}
	return fs, nil
}

// Name implements vfs.Filesystem.
func (fs *FS) Name() string { return "overlay" }

// Root implements vfs.Filesystem.
func (fs *FS) Root() vfs.Inode { return fs.root }

// StatFS implements vfs.Filesystem (the upper layer's numbers).
func (fs *FS) StatFS(ctx vfs.Context) (linux.Statfs, error) {
	s, err := fs.upper.StatFS(ctx)
	s.Type = linux.OVERLAYFS_SUPER_MAGIC
	return s, err
}

// bg is the context of copy-up and whiteout work: the VFS already checked
// the caller's permissions.
var bg = vfs.BackgroundContext(auth.NewRootCredentials())

// inode is a file of the merged tree. Fields are guarded by fs.mu.
type inode struct {
	fs           *FS
	parent       *inode // nil for the root
	name         string
	upper, lower vfs.Inode // either may be nil (not both)
	children     map[string]*inode
}

// top returns the layer that currently defines the file.
func (i *inode) top() vfs.Inode {
	i.fs.mu.Lock()
	defer i.fs.mu.Unlock()
	if i.upper != nil {
		return i.upper
	}
	return i.lower
}

func attrOf(ctx vfs.Context, in vfs.Inode, cached bool) (vfs.Attr, error) {
	if c, ok := in.(vfs.CachedAttrer); ok && cached {
		return c.CachedAttr(), nil
	}
	return in.Stat(ctx)
}

func (i *inode) stat(ctx vfs.Context, cached bool) (vfs.Attr, error) {
	i.fs.mu.Lock()
	up, low := i.upper, i.lower
	i.fs.mu.Unlock()
	if up == nil {
		return attrOf(ctx, low, cached)
	}
	a, err := attrOf(ctx, up, cached)
	if err == nil && low != nil && a.Type() == linux.S_IFDIR {
		// Keep a directory's inode number stable across copy-up.
		if la, lerr := attrOf(ctx, low, true); lerr == nil {
			a.Ino = la.Ino
		}
	}
	return a, err
}

// Stat implements vfs.Inode.
func (i *inode) Stat(ctx vfs.Context) (vfs.Attr, error) { return i.stat(ctx, false) }

// CachedAttr implements vfs.CachedAttrer.
func (i *inode) CachedAttr() vfs.Attr {
	a, _ := i.stat(bg, true)
	return a
}

// Open implements vfs.Inode: opening for writing copies the file up.
func (i *inode) Open(ctx vfs.Context, flags uint32) (vfs.FileImpl, error) {
	if flags&linux.O_ACCMODE != linux.O_RDONLY || flags&linux.O_TRUNC != 0 {
		a, err := i.stat(ctx, true)
		if err != nil {
			return nil, err
		}
		if a.Type() == linux.S_IFREG {
			if err := i.copyUp(); err != nil {
				return nil, err
			}
		}
	}
	return i.top().Open(ctx, flags)
}

// SetAttr implements vfs.SetAttrer (after copy-up).
func (i *inode) SetAttr(ctx vfs.Context, req vfs.SetAttrRequest) error {
	if err := i.copyUp(); err != nil {
		return err
	}
	s, ok := i.top().(vfs.SetAttrer)
	if !ok {
		return linux.EPERM
	}
	return s.SetAttr(ctx, req)
}

// Readlink implements vfs.SymlinkInode.
func (i *inode) Readlink(ctx vfs.Context) (string, error) {
	s, ok := i.top().(vfs.SymlinkInode)
	if !ok {
		return "", linux.EINVAL
	}
	return s.Readlink(ctx)
}

// copyUp makes sure the file exists in the upper layer.
func (i *inode) copyUp() error {
	i.fs.mu.Lock()
	defer i.fs.mu.Unlock()
	return i.copyUpLocked()
}

// copyUpLocked copies i (and its missing ancestors) up: directories are
// created, regular files copied, symlinks and nodes recreated, with the
// same owner, mode and times. fs.mu must be held.
func (i *inode) copyUpLocked() error {
	if i.upper != nil {
		return nil
	}
	if err := i.parent.copyUpLocked(); err != nil {
		return err
	}
	w, ok := i.parent.upper.(vfs.DirWriter)
	if !ok {
		return linux.EROFS
	}
	a, err := i.lower.Stat(bg)
	if err != nil {
		return err
	}
	opts := vfs.CreateOpts{Mode: a.Mode, UID: a.UID, GID: a.GID, Rdev: a.Rdev}
	var up vfs.Inode
	switch a.Type() {
	case linux.S_IFDIR:
		up, err = w.Mkdir(bg, i.name, opts)
	case linux.S_IFREG:
		up, err = copyFile(w, i.name, i.lower, opts)
	case linux.S_IFLNK:
		var target string
		if target, err = i.lower.(vfs.SymlinkInode).Readlink(bg); err == nil {
			up, err = w.Symlink(bg, i.name, target, opts)
		}
	default:
		up, err = w.Mknod(bg, i.name, opts)
	}
	if err != nil {
		return err
	}
	if s, ok := up.(vfs.SetAttrer); ok {
		req := vfs.SetAttrRequest{Mask: vfs.SetAtime | vfs.SetMtime | vfs.SetMode | vfs.SetUID | vfs.SetGID,
			Atime: a.Atime, Mtime: a.Mtime, Mode: a.Mode & linux.PermMask, UID: a.UID, GID: a.GID}
		if a.Type() == linux.S_IFLNK {
			req.Mask &^= vfs.SetMode
		}
		s.SetAttr(bg, req)
	}
	i.upper = up
	return nil
}

// copyFile creates name in w with the content of the lower file src.
func copyFile(w vfs.DirWriter, name string, src vfs.Inode, opts vfs.CreateOpts) (vfs.Inode, error) {
	in, dst, err := w.Create(bg, name, linux.O_WRONLY, opts)
	if err != nil {
		return nil, err
	}
	defer dst.Release()
	rd, err := src.Open(bg, linux.O_RDONLY)
	if err != nil {
		return nil, err
	}
	defer rd.Release()
	buf := make([]byte, 64<<10)
	for off := int64(0); ; {
		n, err := rd.Read(bg, nil, buf, off)
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return in, nil
		}
		if _, err := dst.Write(bg, nil, buf[:n], off); err != nil {
			return nil, err
		}
		off += int64(n)
	}
}
