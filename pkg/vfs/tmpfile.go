package vfs

import (
	"strconv"

	"bulwark.dev/pkg/abi/linux"
)

// tmpfileFS are the filesystems that support O_TMPFILE (as in Linux:
// tmpfs, and overlayfs since 6.6; 9p does not).
var tmpfileFS = map[string]bool{"tmpfs": true, "overlay": true}

// openTmpfile implements open(2) with O_TMPFILE: an unnamed regular file
// in the directory path, which linkat(2) with AT_EMPTY_PATH can name
// later. The file is created under a fresh name and unlinked at once
// while the directory is locked.
func openTmpfile(ctx Context, fs *FSContext, dir *File, path string, flags, mode uint32) (*File, error) {
	acc := flags & linux.O_ACCMODE
	if flags&linux.O_CREAT != 0 || (acc != linux.O_WRONLY && acc != linux.O_RDWR) {
		return nil, linux.EINVAL
	}
	r, start, err := fs.resolver(ctx, dir)
	if err != nil {
		return nil, err
	}
	l, err := r.resolve(start, path, true)
	if err != nil {
		return nil, err
	}
	if err := checkWritableDir(ctx, l); err != nil {
		return nil, err
	}
	if !tmpfileFS[l.Mount.fs.Name()] {
		return nil, linux.EOPNOTSUPP
	}
	d := l.Dentry
	w, ok := d.inode.(DirWriter)
	if !ok {
		return nil, linux.EOPNOTSUPP
	}
	creds := ctx.Credentials()
	opts := CreateOpts{Mode: linux.S_IFREG | mode&linux.PermMask&^fs.Umask(), UID: creds.FSUID, GID: creds.FSGID}
	if pa, err := cachedStat(ctx, d.inode); err == nil && pa.Mode&linux.S_ISGID != 0 {
		opts.GID = pa.GID
	}
	flags &^= linux.O_TMPFILE | linux.O_CREAT | linux.O_EXCL | linux.O_TRUNC
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.dead.Load() {
		return nil, linux.ENOENT
	}
	var name string
	for {
		name = "#" + strconv.FormatUint(NewIno(), 10)
		if _, err := d.lookupLocked(ctx, name); err == linux.ENOENT {
			break
		} else if err != nil {
			return nil, err
		}
	}
	in, impl, err := w.Create(ctx, name, flags|linux.O_CREAT|linux.O_EXCL, opts)
	if err != nil {
		return nil, err
	}
	if err := w.Unlink(ctx, name); err != nil {
		impl.Release()
		return nil, err
	}
	c := newDentry(d, name, in)
	c.dead.Store(true)
	return newFileAt(Location{l.Mount, c}, impl, flags), nil
}
