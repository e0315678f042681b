package vfs

import (
	"bulwark.dev/pkg/abi/linux"
)

// isMountPoint reports whether something is mounted on d or d is the root
// of a mount (EBUSY for unlink and rename).
func isMountPoint(l Location, d *Dentry) bool {
	return d.mounts.Load() > 0 || d == l.Mount.root
}

// UnlinkAt implements unlinkat(2); flags may hold AT_REMOVEDIR.
func UnlinkAt(ctx Context, fs *FSContext, dir *File, path string, flags uint32) error {
	rmdir := flags&linux.AT_REMOVEDIR != 0
	r, start, err := fs.resolver(ctx, dir)
	if err != nil {
		return err
	}
	parent, name, trailing, err := r.resolveParent(start, path)
	if err != nil {
		return err
	}
	switch {
	case name == "" && rmdir:
		return linux.EBUSY
	case name == "." && rmdir:
		return linux.EINVAL
	case name == ".." && rmdir:
		return linux.ENOTEMPTY
	case name == "" || name == "." || name == "..":
		return linux.EISDIR
	}
	if err := checkWritableDir(ctx, parent); err != nil {
		return err
	}
	d := parent.Dentry
	d.mu.Lock()
	defer d.mu.Unlock()
	c, err := d.lookupLocked(ctx, name)
	if err != nil {
		return err
	}
	ca, err := cachedStat(ctx, c.inode)
	if err != nil {
		return err
	}
	isDir := ca.Type() == linux.S_IFDIR
	switch {
	case rmdir && !isDir:
		return linux.ENOTDIR
	case !rmdir && isDir:
		return linux.EISDIR
	case !rmdir && trailing:
		return linux.ENOTDIR
	}
	da, err := cachedStat(ctx, d.inode)
	if err != nil {
		return err
	}
	if err := checkStickyDelete(ctx.Credentials(), da, ca); err != nil {
		return err
	}
	if c.mounts.Load() > 0 {
		return linux.EBUSY
	}
	w, ok := d.inode.(DirWriter)
	if !ok {
		return linux.EPERM
	}
	if rmdir {
		err = w.Rmdir(ctx, name)
	} else {
		err = w.Unlink(ctx, name)
	}
	if err != nil {
		return err
	}
	d.removeLocked(name)
	notifyRemove(ctx, d, name, c.inode)
	return nil
}

// RenameAt implements renameat2(2); flags may hold RENAME_NOREPLACE.
func RenameAt(ctx Context, fs *FSContext, oldDir *File, oldPath string, newDir *File, newPath string, flags uint32) error {
	if flags&^linux.RENAME_NOREPLACE != 0 {
		return linux.EINVAL
	}
	r, ostart, err := fs.resolver(ctx, oldDir)
	if err != nil {
		return err
	}
	op, oname, otrail, err := r.resolveParent(ostart, oldPath)
	if err != nil {
		return err
	}
	r2, nstart, err := fs.resolver(ctx, newDir)
	if err != nil {
		return err
	}
	np, nname, ntrail, err := r2.resolveParent(nstart, newPath)
	if err != nil {
		return err
	}
	for _, n := range []string{oname, nname} {
		if n == "" || n == "." || n == ".." {
			return linux.EBUSY
		}
	}
	if op.Mount != np.Mount {
		return linux.EXDEV
	}
	if err := checkWritableDir(ctx, op); err != nil {
		return err
	}
	if err := checkWritableDir(ctx, np); err != nil {
		return err
	}
	if isDynamic(op.Dentry.inode) || isDynamic(np.Dentry.inode) {
		return linux.EPERM
	}

	renameMu.Lock()
	defer renameMu.Unlock()
	od, nd := op.Dentry, np.Dentry
	od.mu.Lock()
	defer od.mu.Unlock()
	if nd != od {
		nd.mu.Lock()
		defer nd.mu.Unlock()
	}
	if err := renameLocked(ctx, op, oname, otrail, np, nname, ntrail, flags); err != nil {
		return err
	}
	if c, ok := nd.children[nname]; ok {
		notifyRename(ctx, od, oname, nd, nname, c.inode)
	}
	return nil
}

// renameLocked does the rename with renameMu and both directories locked.
func renameLocked(ctx Context, op Location, oname string, otrail bool, np Location, nname string, ntrail bool, flags uint32) error {
	od, nd := op.Dentry, np.Dentry
	c, err := od.lookupLocked(ctx, oname)
	if err != nil {
		return err
	}
	ca, err := cachedStat(ctx, c.inode)
	if err != nil {
		return err
	}
	isDir := ca.Type() == linux.S_IFDIR
	if (otrail || ntrail) && !isDir {
		return linux.ENOTDIR
	}
	if isMountPoint(op, c) {
		return linux.EBUSY
	}
	creds := ctx.Credentials()
	oda, err := cachedStat(ctx, od.inode)
	if err != nil {
		return err
	}
	if err := checkStickyDelete(creds, oda, ca); err != nil {
		return err
	}
	t, err := nd.lookupLocked(ctx, nname)
	switch {
	case err == linux.ENOENT:
		t = nil
	case err != nil:
		return err
	}
	if t != nil {
		if flags&linux.RENAME_NOREPLACE != 0 {
			return linux.EEXIST
		}
		if t == c || t.inode == c.inode {
			return nil
		}
		ta, err := cachedStat(ctx, t.inode)
		if err != nil {
			return err
		}
		tDir := ta.Type() == linux.S_IFDIR
		if isDir && !tDir {
			return linux.ENOTDIR
		}
		if !isDir && tDir {
			return linux.EISDIR
		}
		if isMountPoint(np, t) {
			return linux.EBUSY
		}
		nda, err := cachedStat(ctx, nd.inode)
		if err != nil {
			return err
		}
		if err := checkStickyDelete(creds, nda, ta); err != nil {
			return err
		}
	}
	if isDir {
		// The new parent may not be the directory itself or below it.
		for p := nd; p != nil; p = p.parent {
			if p == c {
				return linux.EINVAL
			}
		}
	}
	w, ok := od.inode.(DirWriter)
	if !ok {
		return linux.EPERM
	}
	if err := w.Rename(ctx, oname, nd.inode, nname); err != nil {
		return err
	}
	delete(od.children, oname)
	if t != nil {
		nd.removeLocked(nname)
	}
	c.parent, c.name = nd, nname
	nd.insertLocked(c)
	return nil
}
