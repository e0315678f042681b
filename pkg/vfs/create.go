package vfs

import (
	"bulwark.dev/pkg/abi/linux"
)

// checkWritableDir checks that the caller may add or remove entries of dir.
func checkWritableDir(ctx Context, dir Location) error {
	a, err := cachedStat(ctx, dir.Dentry.inode)
	if err != nil {
		return err
	}
	if a.Type() != linux.S_IFDIR {
		return linux.ENOTDIR
	}
	if err := CheckPermission(ctx.Credentials(), a, MayWrite|MayExec); err != nil {
		return err
	}
	if dir.Mount.opts.ReadOnly {
		return linux.EROFS
	}
	return nil
}

// createLocked creates name in dir with fn after the common checks and
// caches the new dentry. dir.Dentry.mu must be held and name must be
// missing. mode holds the type and the permission bits (umask applied).
func createLocked(ctx Context, dir Location, name string, mode uint32, fn func(DirWriter, CreateOpts) (Inode, error)) (*Dentry, error) {
	if err := checkWritableDir(ctx, dir); err != nil {
		return nil, err
	}
	d := dir.Dentry
	if d.dead.Load() {
		return nil, linux.ENOENT
	}
	w, ok := d.inode.(DirWriter)
	if !ok {
		return nil, linux.EPERM
	}
	creds := ctx.Credentials()
	opts := CreateOpts{Mode: mode, UID: creds.FSUID, GID: creds.FSGID}
	if pa, err := cachedStat(ctx, d.inode); err == nil && pa.Mode&linux.S_ISGID != 0 {
		opts.GID = pa.GID
		if mode&linux.S_IFMT == linux.S_IFDIR {
			opts.Mode |= linux.S_ISGID
		}
	}
	in, err := fn(w, opts)
	if err != nil {
		return nil, err
	}
	c := newDentry(d, name, in)
	d.insertLocked(c)
	notifyCreate(ctx, d, name, in)
	return c, nil
}

// createIn creates name in dir (linux.EEXIST if it exists).
func createIn(ctx Context, dir Location, name string, mode uint32, fn func(DirWriter, CreateOpts) (Inode, error)) (*Dentry, error) {
	if len(name) > linux.NAME_MAX {
		return nil, linux.ENAMETOOLONG
	}
	d := dir.Dentry
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, err := d.lookupLocked(ctx, name); err == nil {
		return nil, linux.EEXIST
	} else if err != linux.ENOENT {
		return nil, err
	}
	return createLocked(ctx, dir, name, mode, fn)
}

// mkdirIn creates directory name in dir with permission bits perm.
func mkdirIn(ctx Context, dir Location, name string, perm uint32) (*Dentry, error) {
	mode := linux.S_IFDIR | perm&(0o777|linux.S_ISVTX)
	return createIn(ctx, dir, name, mode, func(w DirWriter, o CreateOpts) (Inode, error) {
		return w.Mkdir(ctx, name, o)
	})
}

// createFile creates an empty regular file name in dir.
func createFile(ctx Context, dir Location, name string, perm uint32) (*Dentry, error) {
	return createIn(ctx, dir, name, linux.S_IFREG|perm&linux.PermMask, func(w DirWriter, o CreateOpts) (Inode, error) {
		in, impl, err := w.Create(ctx, name, linux.O_RDONLY, o)
		if err == nil && impl != nil {
			impl.Release()
		}
		return in, err
	})
}

// parentForCreate resolves the directory in which path would be created.
// A trailing slash is allowed only when dirOK (mkdir).
func parentForCreate(ctx Context, fs *FSContext, dir *File, path string, dirOK bool) (Location, string, error) {
	r, start, err := fs.resolver(ctx, dir)
	if err != nil {
		return Location{}, "", err
	}
	parent, last, trailing, err := r.resolveParent(start, path)
	if err != nil {
		return Location{}, "", err
	}
	if last == "" || last == "." || last == ".." {
		return Location{}, "", linux.EEXIST
	}
	if trailing && !dirOK {
		// Linux: EEXIST when the name exists, ENOENT otherwise.
		if _, err := parent.Dentry.lookup(ctx, last); err == nil {
			return Location{}, "", linux.EEXIST
		}
		return Location{}, "", linux.ENOENT
	}
	return parent, last, nil
}

// MkdirAt implements mkdirat(2).
func MkdirAt(ctx Context, fs *FSContext, dir *File, path string, mode uint32) error {
	parent, name, err := parentForCreate(ctx, fs, dir, path, true)
	if err != nil {
		return err
	}
	_, err = mkdirIn(ctx, parent, name, mode&^fs.Umask())
	return err
}

// MknodAt implements mknodat(2): regular files, FIFOs, sockets and device
// nodes (the filesystem decides which it supports).
func MknodAt(ctx Context, fs *FSContext, dir *File, path string, mode, rdev uint32) error {
	parent, name, err := parentForCreate(ctx, fs, dir, path, false)
	if err != nil {
		return err
	}
	perm := mode & linux.PermMask &^ fs.Umask()
	switch mode & linux.S_IFMT {
	case 0, linux.S_IFREG:
		_, err = createFile(ctx, parent, name, perm)
		return err
	case linux.S_IFIFO, linux.S_IFSOCK, linux.S_IFCHR, linux.S_IFBLK:
		t := mode & linux.S_IFMT
		_, err = createIn(ctx, parent, name, t|perm, func(w DirWriter, o CreateOpts) (Inode, error) {
			o.Rdev = rdev
			return w.Mknod(ctx, name, o)
		})
		return err
	case linux.S_IFDIR:
		return linux.EPERM
	default:
		return linux.EINVAL
	}
}

// SymlinkAt implements symlinkat(2).
func SymlinkAt(ctx Context, fs *FSContext, target string, dir *File, path string) error {
	if target == "" {
		return linux.ENOENT
	}
	if len(target) >= linux.PATH_MAX {
		return linux.ENAMETOOLONG
	}
	parent, name, err := parentForCreate(ctx, fs, dir, path, false)
	if err != nil {
		return err
	}
	_, err = createIn(ctx, parent, name, linux.S_IFLNK|0o777, func(w DirWriter, o CreateOpts) (Inode, error) {
		return w.Symlink(ctx, name, target, o)
	})
	return err
}

// LinkAt implements linkat(2); flags may hold AT_SYMLINK_FOLLOW and
// AT_EMPTY_PATH.
func LinkAt(ctx Context, fs *FSContext, oldDir *File, oldPath string, newDir *File, newPath string, flags uint32) error {
	var src Location
	if oldPath == "" && flags&linux.AT_EMPTY_PATH != 0 {
		if oldDir == nil {
			src = fs.Cwd()
		} else if src = oldDir.loc; !src.ok() {
			return linux.ENOENT
		}
	} else {
		r, start, err := fs.resolver(ctx, oldDir)
		if err != nil {
			return err
		}
		if src, err = r.resolve(start, oldPath, flags&linux.AT_SYMLINK_FOLLOW != 0); err != nil {
			return err
		}
	}
	a, err := cachedStat(ctx, src.Dentry.inode)
	if err != nil {
		return err
	}
	if a.Type() == linux.S_IFDIR {
		return linux.EPERM
	}
	parent, name, err := parentForCreate(ctx, fs, newDir, newPath, false)
	if err != nil {
		return err
	}
	if parent.Mount != src.Mount {
		return linux.EXDEV
	}
	_, err = createIn(ctx, parent, name, a.Mode, func(w DirWriter, _ CreateOpts) (Inode, error) {
		if err := w.Link(ctx, name, src.Dentry.inode); err != nil {
			return nil, err
		}
		return src.Dentry.inode, nil
	})
	return err
}
