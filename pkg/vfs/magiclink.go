package vfs

import (
	"bulwark.dev/pkg/abi/linux"
)

// Magic links are symlinks such as /proc/[pid]/fd/N, exe, cwd and root:
// readlink(2) returns their text (e.g. "pipe:[12]"), but a path walk does
// not resolve that text: it goes straight to the file the link stands for.
// Opening /proc/self/fd/3 therefore opens the object fd 3 refers to again,
// with the access mode of the new open(2): the same inode of the same
// mount for a file of the tree, the same pipe for a pipe.

// MagicLink is implemented by symlinks whose walk goes to a Location rather
// than to their text.
type MagicLink interface {
	SymlinkInode
	// Follow returns where a path walk through the link continues.
	Follow(ctx Context) (Location, error)
}

// FileLocation returns the Location a magic link to f leads to: where f
// was opened, or for an anonymous file (a pipe end, a socket) a detached
// location of f's inode, whose Open opens the same object again (a pipe's
// inode opens a new end of the same pipe).
func FileLocation(f *File) Location {
	if f.loc.ok() {
		return f.loc
	}
	return anonLocation(anonInode{f.inode, f}, f.name)
}

// LinkName is the text of a magic link to f: its path in the tree, or
// its name (e.g. "pipe:[12]") for an anonymous file, also when f was
// opened again through such a link.
func (f *File) LinkName() string {
	if f.loc.ok() {
		if _, ok := f.loc.Mount.fs.(anonFS); ok {
			return f.loc.Dentry.name
		}
	}
	return f.PathName()
}

// anonFS is the pseudo filesystem that holds the detached locations of
// anonymous files (Linux's pipefs and sockfs mounts).
type anonFS struct{}

func (anonFS) Name() string { return "anon" }
func (anonFS) Root() Inode  { return anonRootInode }
func (anonFS) StatFS(Context) (linux.Statfs, error) {
	return linux.Statfs{Type: linux.PIPEFS_MAGIC, Bsize: 4096, Namelen: linux.NAME_MAX}, nil
}

var (
	anonRootInode = NewStaticDir(0o555, nil)
	// anonParent is where detached locations appear to be mounted, so
	// that their PathName is "/name".
	anonParent = &Mount{fs: anonFS{}, root: newDentry(nil, "/", anonRootInode), dev: devFor(anonFS{})}
)

// anonLocation returns a detached location of in named name: the root of
// a mount of its own, so ".." never leaves it.
func anonLocation(in Inode, name string) Location {
	point := newDentry(anonParent.root, name, anonRootInode)
	m := &Mount{fs: anonFS{}, root: newDentry(nil, name, in), dev: anonParent.dev, parent: anonParent, point: point}
	return Location{m, m.root}
}

// anonInode is the inode of an anonymous file's detached location: the
// file's own inode, which Open opens again (a new end of a pipe). An
// inode that cannot be opened again (linux.ENXIO: a host fd such as the
// container's stdin) shares the file's open file description instead, as
// dup(2) would; sockets are never opened.
type anonInode struct {
	Inode
	f *File
}

// Open implements Inode.
func (a anonInode) Open(ctx Context, flags uint32) (FileImpl, error) {
	impl, err := a.Inode.Open(ctx, flags)
	if err != linux.ENXIO || a.f.fileType(ctx) == linux.S_IFSOCK {
		return impl, err
	}
	if !a.f.TryIncRef() {
		return nil, linux.ENXIO
	}
	return sharedImpl{a.f}, nil
}

// sharedImpl is a FileImpl that does I/O through another open file (at
// its position).
type sharedImpl struct{ f *File }

func (s sharedImpl) Read(ctx Context, _ *File, dst []byte, _ int64) (int, error) {
	return s.f.Read(ctx, dst)
}

func (s sharedImpl) Write(ctx Context, _ *File, src []byte, _ int64) (int, error) {
	return s.f.Write(ctx, src)
}

func (s sharedImpl) Release()                     { s.f.DecRef() }
func (s sharedImpl) IsStream() bool               { return true }
func (s sharedImpl) Readiness(mask uint32) uint32 { return s.f.Readiness(mask) }
func (s sharedImpl) Notify() <-chan struct{}      { return s.f.Notify() }
func (s sharedImpl) Sync(ctx Context) error       { return s.f.Sync(ctx) }
func (s sharedImpl) Ioctl(ctx Context, _ *File, cmd uint32, arg uintptr) (uintptr, error) {
	return s.f.Ioctl(ctx, cmd, arg)
}

// followMagic continues a walk through magic link m; mustDir requires a
// directory.
func (r *resolver) followMagic(m MagicLink, mustDir bool) (Location, error) {
	l, err := m.Follow(r.ctx)
	if err != nil {
		return Location{}, err
	}
	if !l.ok() {
		return Location{}, linux.ENOENT
	}
	if mustDir {
		a, err := r.attrOf(l)
		if err != nil {
			return Location{}, err
		}
		if a.Type() != linux.S_IFDIR {
			return Location{}, linux.ENOTDIR
		}
	}
	return l, nil
}
