package vfs

import (
	"sync"

	"bulwark.dev/pkg/abi/linux"
)

// FSContext is a task's root, working directory and umask (CLONE_FS unit).
type FSContext struct {
	ns *MountNamespace

	mu    sync.Mutex
	root  Location // guarded by mu
	cwd   Location // guarded by mu
	umask uint32   // guarded by mu
}

// Fork returns an independent copy.
func (fs *FSContext) Fork() *FSContext {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return &FSContext{ns: fs.ns, root: fs.root, cwd: fs.cwd, umask: fs.umask}
}

// Release drops the references the context holds. Dentries are garbage
// collected, so there is nothing to do yet.
func (fs *FSContext) Release() {}

// Umask returns the file mode creation mask.
func (fs *FSContext) Umask() uint32 {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.umask
}

// SetUmask sets the mask and returns the old one.
func (fs *FSContext) SetUmask(mask uint32) uint32 {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	old := fs.umask
	fs.umask = mask & 0o777
	return old
}

// Namespace returns the mount namespace.
func (fs *FSContext) Namespace() *MountNamespace { return fs.ns }

// RootDir returns the root directory.
func (fs *FSContext) RootDir() Location {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.root
}

// Cwd returns the working directory.
func (fs *FSContext) Cwd() Location {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.cwd
}

// WorkingDirectory returns the absolute path of the cwd (seen from the
// root; "(unreachable)/..." when the cwd is outside it).
func (fs *FSContext) WorkingDirectory() string {
	fs.mu.Lock()
	root, cwd := fs.root, fs.cwd
	fs.mu.Unlock()
	p := pathFrom(root, cwd)
	if cwd.Dentry.dead.Load() {
		p += " (deleted)"
	}
	return p
}

// Chdir changes the working directory to path (relative to dir as in
// OpenAt) after checking it is a searchable directory.
func (fs *FSContext) Chdir(ctx Context, dir *File, path string) error {
	r, start, err := fs.resolver(ctx, dir)
	if err != nil {
		return err
	}
	l, err := r.resolve(start, path, true)
	if err != nil {
		return err
	}
	return fs.setCwd(ctx, l)
}

// Fchdir changes the working directory to the directory open as f.
func (fs *FSContext) Fchdir(ctx Context, f *File) error {
	if !f.loc.ok() {
		return linux.ENOTDIR
	}
	return fs.setCwd(ctx, f.loc)
}

// Chroot changes the root directory to path (CAP_SYS_CHROOT is checked by
// the caller).
func (fs *FSContext) Chroot(ctx Context, path string) error {
	r, start, err := fs.resolver(ctx, nil)
	if err != nil {
		return err
	}
	l, err := r.resolve(start, path, true)
	if err != nil {
		return err
	}
	if err := r.checkSearch(l); err != nil {
		return err
	}
	fs.mu.Lock()
	fs.root = l
	fs.mu.Unlock()
	return nil
}

func (fs *FSContext) setCwd(ctx Context, l Location) error {
	a, err := cachedStat(ctx, l.Dentry.inode)
	if err != nil {
		return err
	}
	if a.Type() != linux.S_IFDIR {
		return linux.ENOTDIR
	}
	if err := CheckPermission(ctx.Credentials(), a, MayExec); err != nil {
		return err
	}
	fs.mu.Lock()
	fs.cwd = l
	fs.mu.Unlock()
	return nil
}

// resolver returns a resolver rooted at fs's root and the start location
// for relative paths: dir, or the cwd when dir is nil.
func (fs *FSContext) resolver(ctx Context, dir *File) (*resolver, Location, error) {
	fs.mu.Lock()
	r := &resolver{ctx: ctx, ns: fs.ns, root: fs.root}
	start := fs.cwd
	fs.mu.Unlock()
	if dir != nil {
		start = dir.loc // zero for anonymous files: relative paths fail with ENOTDIR
	}
	return r, start, nil
}
