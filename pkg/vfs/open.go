package vfs

import (
	"bulwark.dev/pkg/abi/linux"
)

// OpenAt opens path relative to dir (nil: the working directory of fs; an
// absolute path starts at fs's root) with open(2) flags and mode, following
// symlinks in the sandbox's own mount tree.
func OpenAt(ctx Context, fs *FSContext, dir *File, path string, flags uint32, mode uint32) (*File, error) {
	r, start, err := fs.resolver(ctx, dir)
	if err != nil {
		return nil, err
	}
	if flags&linux.O_TMPFILE == linux.O_TMPFILE {
		return openTmpfile(ctx, fs, dir, path, flags, mode)
	}
	if flags&linux.O_PATH != 0 {
		flags &= linux.O_PATH | linux.O_DIRECTORY | linux.O_NOFOLLOW | linux.O_CLOEXEC
	}
	if flags&linux.O_CREAT == 0 {
		l, err := r.resolve(start, path, flags&linux.O_NOFOLLOW == 0)
		if err != nil {
			return nil, err
		}
		return openLocation(ctx, l, flags)
	}
	mode = mode&linux.PermMask&^fs.Umask() | linux.S_IFREG
	for {
		parent, last, trailing, err := r.resolveParent(start, path)
		if err != nil {
			return nil, err
		}
		if trailing || last == "" || last == "." || last == ".." {
			return nil, linux.EISDIR
		}
		c, created, impl, err := lookupOrCreate(ctx, parent, last, flags, mode)
		if err != nil {
			return nil, err
		}
		if created {
			return newFileAt(Location{parent.Mount, c}, impl, flags), nil
		}
		if flags&linux.O_EXCL != 0 {
			return nil, linux.EEXIST
		}
		l := fs.ns.followMounts(Location{parent.Mount, c})
		a, err := cachedStat(ctx, l.Dentry.inode)
		if err != nil {
			return nil, err
		}
		if a.Type() != linux.S_IFLNK {
			return openLocation(ctx, l, flags)
		}
		if flags&linux.O_NOFOLLOW != 0 {
			return nil, linux.ELOOP
		}
		// Follow the link, creating its target if missing (like Linux).
		r.links++
		if r.links > linux.MAXSYMLINKS {
			return nil, linux.ELOOP
		}
		if m, ok := l.Dentry.inode.(MagicLink); ok {
			// /dev/stdout -> /proc/self/fd/1: open the object itself.
			ml, err := r.followMagic(m, false)
			if err != nil {
				return nil, err
			}
			return openLocation(ctx, ml, flags)
		}
		target, err := l.Dentry.inode.(SymlinkInode).Readlink(ctx)
		if err != nil {
			return nil, err
		}
		start, path = parent, target
	}
}

// lookupOrCreate returns the existing child name of parent, or creates a
// regular file there and returns it opened.
func lookupOrCreate(ctx Context, parent Location, name string, flags, mode uint32) (*Dentry, bool, FileImpl, error) {
	d := parent.Dentry
	if len(name) > linux.NAME_MAX {
		return nil, false, nil, linux.ENAMETOOLONG
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	c, err := d.lookupLocked(ctx, name)
	if err == nil {
		return c, false, nil, nil
	}
	if err != linux.ENOENT {
		return nil, false, nil, err
	}
	var impl FileImpl
	c, err = createLocked(ctx, parent, name, mode, func(w DirWriter, opts CreateOpts) (Inode, error) {
		in, fi, err := w.Create(ctx, name, flags, opts)
		impl = fi
		return in, err
	})
	if err != nil {
		return nil, false, nil, err
	}
	return c, true, impl, nil
}

// openLocation opens an existing file.
func openLocation(ctx Context, l Location, flags uint32) (*File, error) {
	a, err := cachedStat(ctx, l.Dentry.inode)
	if err != nil {
		return nil, err
	}
	isDir := a.Type() == linux.S_IFDIR
	if flags&linux.O_DIRECTORY != 0 && !isDir {
		return nil, linux.ENOTDIR
	}
	if flags&linux.O_PATH != 0 {
		return newFileAt(l, NoFile{}, flags), nil
	}
	if a.Type() == linux.S_IFLNK {
		return nil, linux.ELOOP
	}
	acc := flags & linux.O_ACCMODE
	if acc == linux.O_ACCMODE {
		return nil, linux.EINVAL
	}
	write := acc != linux.O_RDONLY || flags&linux.O_TRUNC != 0
	if isDir && (write || flags&linux.O_CREAT != 0) {
		return nil, linux.EISDIR
	}
	var want uint32
	if acc != linux.O_WRONLY {
		want |= MayRead
	}
	if write {
		want |= MayWrite
	}
	if err := CheckPermission(ctx.Credentials(), a, want); err != nil {
		return nil, err
	}
	t := a.Type()
	if write && l.Mount.opts.ReadOnly && (t == linux.S_IFREG || t == linux.S_IFDIR) {
		return nil, linux.EROFS
	}
	impl, err := l.Dentry.inode.Open(ctx, flags)
	if err != nil {
		return nil, err
	}
	f := newFileAt(l, impl, flags)
	if flags&linux.O_TRUNC != 0 && t == linux.S_IFREG {
		if err := setAttrRaw(ctx, l.Dentry.inode, SetAttrRequest{Mask: SetSize}); err != nil {
			f.DecRef()
			return nil, err
		}
	}
	return f, nil
}

// OpenExec opens path for execve: it must be a regular file the caller may
// execute (linux.EACCES otherwise); read permission is not needed.
func OpenExec(ctx Context, fs *FSContext, path string) (*File, error) {
	r, start, err := fs.resolver(ctx, nil)
	if err != nil {
		return nil, err
	}
	l, err := r.resolve(start, path, true)
	if err != nil {
		return nil, err
	}
	a, err := cachedStat(ctx, l.Dentry.inode)
	if err != nil {
		return nil, err
	}
	if a.Type() != linux.S_IFREG {
		return nil, linux.EACCES
	}
	if err := CheckPermission(ctx.Credentials(), a, MayExec); err != nil {
		return nil, err
	}
	impl, err := l.Dentry.inode.Open(ctx, linux.O_RDONLY)
	if err != nil {
		return nil, err
	}
	return newFileAt(l, impl, linux.O_RDONLY), nil
}
