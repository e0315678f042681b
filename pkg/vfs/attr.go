package vfs

import (
	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/kernel/auth"
)

// lookupAt resolves path like the *at(2) calls: AT_EMPTY_PATH with an
// empty path names dir itself (ok=false then: use the File), and
// AT_SYMLINK_NOFOLLOW keeps a final symlink.
func lookupAt(ctx Context, fs *FSContext, dir *File, path string, flags uint32) (Location, error) {
	if path == "" && flags&linux.AT_EMPTY_PATH != 0 {
		if dir == nil {
			return fs.Cwd(), nil
		}
		return dir.loc, nil
	}
	r, start, err := fs.resolver(ctx, dir)
	if err != nil {
		return Location{}, err
	}
	return r.resolve(start, path, flags&linux.AT_SYMLINK_NOFOLLOW == 0)
}

// StatAt implements fstatat(2) and statx(2); flags may hold
// AT_SYMLINK_NOFOLLOW and AT_EMPTY_PATH.
func StatAt(ctx Context, fs *FSContext, dir *File, path string, flags uint32) (linux.Statx, error) {
	l, err := lookupAt(ctx, fs, dir, path, flags)
	if err != nil {
		return linux.Statx{}, err
	}
	if !l.ok() {
		return dir.Stat(ctx)
	}
	a, err := l.Dentry.inode.Stat(ctx)
	if err != nil {
		return linux.Statx{}, err
	}
	if a.Dev == 0 {
		a.Dev = l.Mount.dev
	}
	return AttrToStatx(a), nil
}

// StatFSAt implements statfs(2).
func StatFSAt(ctx Context, fs *FSContext, path string) (linux.Statfs, error) {
	l, err := lookupAt(ctx, fs, nil, path, 0)
	if err != nil {
		return linux.Statfs{}, err
	}
	return l.Mount.fs.StatFS(ctx)
}

// ReadlinkAt implements readlinkat(2) (AT_EMPTY_PATH semantics for an
// empty path: dir itself, an O_PATH|O_NOFOLLOW symlink).
func ReadlinkAt(ctx Context, fs *FSContext, dir *File, path string) (string, error) {
	flags := uint32(linux.AT_SYMLINK_NOFOLLOW)
	if path == "" && dir != nil {
		flags |= linux.AT_EMPTY_PATH
	}
	l, err := lookupAt(ctx, fs, dir, path, flags)
	if err != nil {
		return "", err
	}
	if !l.ok() {
		return "", linux.ENOENT
	}
	s, ok := l.Dentry.inode.(SymlinkInode)
	if !ok {
		return "", linux.EINVAL
	}
	if a, err := cachedStat(ctx, s); err != nil || a.Type() != linux.S_IFLNK {
		return "", linux.EINVAL
	}
	return s.Readlink(ctx)
}

// AccessAt implements faccessat2(2): mode is F_OK or R_OK|W_OK|X_OK;
// checks use the real uid/gid unless flags has AT_EACCESS.
func AccessAt(ctx Context, fs *FSContext, dir *File, path string, mode, flags uint32) error {
	if mode&^7 != 0 {
		return linux.EINVAL
	}
	creds := ctx.Credentials()
	if flags&linux.AT_EACCESS == 0 {
		c := creds.Fork()
		c.FSUID, c.FSGID = c.RealUID, c.RealGID
		if c.RealUID != 0 {
			c.EffectiveCaps = 0
		} else {
			c.EffectiveCaps = c.PermittedCaps
		}
		creds = c
		ctx = credsContext{ctx, creds}
	}
	l, err := lookupAt(ctx, fs, dir, path, flags&(linux.AT_SYMLINK_NOFOLLOW|linux.AT_EMPTY_PATH))
	if err != nil {
		return err
	}
	if mode == linux.F_OK || !l.ok() {
		return nil
	}
	a, err := cachedStat(ctx, l.Dentry.inode)
	if err != nil {
		return err
	}
	if mode&linux.W_OK != 0 && l.Mount.opts.ReadOnly && (a.Type() == linux.S_IFREG || a.Type() == linux.S_IFDIR) {
		return linux.EROFS
	}
	return CheckPermission(creds, a, mode)
}

type credsContext struct {
	Context
	creds *auth.Credentials
}

func (c credsContext) Credentials() *auth.Credentials { return c.creds }

// SetAttrAt implements chmod, chown, truncate and utimensat on a path
// (flags: AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH).
func SetAttrAt(ctx Context, fs *FSContext, dir *File, path string, flags uint32, req SetAttrRequest) error {
	l, err := lookupAt(ctx, fs, dir, path, flags)
	if err != nil {
		return err
	}
	if !l.ok() {
		return dir.SetAttr(ctx, req)
	}
	if err := setAttrChecked(ctx, l.Mount, l.Dentry.inode, req); err != nil {
		return err
	}
	notifyDentry(ctx, l.Dentry, attrEvent(req))
	return nil
}

// SetAttr implements fchmod, fchown, futimens (and ftruncate through
// Truncate) on an open file.
func (f *File) SetAttr(ctx Context, req SetAttrRequest) error {
	var m *Mount
	if f.loc.ok() {
		m = f.loc.Mount
	}
	if req.Mask&SetSize != 0 {
		return linux.EINVAL
	}
	if err := setAttrChecked(ctx, m, f.inode, req); err != nil {
		return err
	}
	notifyFile(ctx, f, attrEvent(req))
	return nil
}

// setAttrChecked checks permissions (owner rules for chmod/chown/utimes,
// write permission for truncate) and applies req.
func setAttrChecked(ctx Context, m *Mount, in Inode, req SetAttrRequest) error {
	a, err := cachedStat(ctx, in)
	if err != nil {
		return err
	}
	if m != nil && m.opts.ReadOnly {
		return linux.EROFS
	}
	creds := ctx.Credentials()
	if req.Mask&SetMode != 0 {
		if !isOwner(creds, a) {
			return linux.EPERM
		}
		req.Mode &= linux.PermMask
		if a.Type() != linux.S_IFDIR && !creds.InGroup(a.GID) && !creds.HasCapability(capFsetid) {
			req.Mode &^= linux.S_ISGID
		}
	}
	if req.Mask&SetUID != 0 && req.UID != a.UID && !creds.HasCapability(auth.CapChown) {
		return linux.EPERM
	}
	if req.Mask&SetGID != 0 && req.GID != a.GID && !creds.HasCapability(auth.CapChown) &&
		!(creds.FSUID == a.UID && creds.InGroup(req.GID)) {
		return linux.EPERM
	}
	if req.Mask&(SetAtime|SetMtime) != 0 && !isOwner(creds, a) {
		if !req.TimesNow {
			return linux.EPERM
		}
		if err := CheckPermission(creds, a, MayWrite); err != nil {
			return err
		}
	}
	if req.Mask&SetSize != 0 {
		switch a.Type() {
		case linux.S_IFDIR:
			return linux.EISDIR
		case linux.S_IFREG:
		default:
			return linux.EINVAL
		}
		if req.Size < 0 {
			return linux.EINVAL
		}
		if err := CheckPermission(creds, a, MayWrite); err != nil {
			return err
		}
	}
	return setAttrRaw(ctx, in, req)
}

// setAttrRaw applies req without permission checks.
func setAttrRaw(ctx Context, in Inode, req SetAttrRequest) error {
	s, ok := in.(SetAttrer)
	if !ok {
		return linux.EPERM
	}
	return s.SetAttr(ctx, req)
}

// capFsetid is CAP_FSETID (not yet named in pkg/kernel/auth).
const capFsetid = 4
