package fsproto

import (
	"bulwark.dev/pkg/abi/linux"
	"golang.org/x/sys/unix"
)

// This file holds the handlers that change the host tree. Each holds
// Server.mu for writing across its host syscalls so that the node tree
// always matches what the server did.

// writable refuses a change on a read-only mount.
func (ss *session) writable() error {
	if ss.srv.opts.ReadOnly {
		return linux.EROFS
	}
	return nil
}

// beginCreate checks a creation in dirF/name and returns the directory
// with a reference (drop it with put) and Server.mu held for writing
// (the caller unlocks).
func (ss *session) beginCreate(dirF FID, name string) (*node, error) {
	if err := ss.writable(); err != nil {
		return nil, err
	}
	if err := checkName(name); err != nil {
		return nil, err
	}
	dn, err := ss.getDir(dirF)
	if err != nil {
		return nil, err
	}
	ss.srv.mu.Lock()
	return dn, nil
}

// endCreate unlocks Server.mu and drops dn.
func (ss *session) endCreate(dn *node) {
	ss.srv.mu.Unlock()
	ss.put(dn)
}

func (ss *session) create(d *decoder, e *encoder) (int, error) {
	dirF, name, flags, mode, uid, gid := d.fid(), d.str(), d.u32(), d.u32(), d.u32(), d.u32()
	if !d.done() {
		return -1, linux.EINVAL
	}
	fl, err := checkOpenFlags(flags&^(unix.O_CREAT|unix.O_EXCL|unix.O_DIRECTORY), ss.srv.opts.ReadOnly)
	if err != nil {
		return -1, err
	}
	dn, err := ss.beginCreate(dirF, name)
	if err != nil {
		return -1, err
	}
	defer ss.endCreate(dn)
	perm := mode & 0o7777
	fd, err := unix.Openat(dn.fd, name, fl|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_NOCTTY|unix.O_CLOEXEC, perm)
	if err != nil {
		return -1, err
	}
	fail := func(err error) (int, error) {
		unix.Close(fd)
		unix.Unlinkat(dn.fd, name, 0)
		return -1, err
	}
	// chown first: it clears set-id bits that the chmod then restores.
	if err := unix.Fchown(fd, int(uid), int(gid)); err != nil {
		return fail(err)
	}
	if err := unix.Fchmod(fd, perm); err != nil { // the gofer's umask must not apply
		return fail(err)
	}
	f, a, err := ss.addChild(dn, name, fd)
	if err != nil {
		return fail(err)
	}
	e.fid(f)
	e.attr(a)
	return fd, nil
}

// addChild opens dn/name as a new node (checking it is the file open
// names, when open >= 0), names it in the tree and gives it a FID.
// Server.mu must be held for writing.
func (ss *session) addChild(dn *node, name string, open int) (FID, Attr, error) {
	pfd, err := unix.Openat(dn.fd, name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, Attr{}, err
	}
	var st unix.Stat_t
	if err := fstat(pfd, &st); err != nil {
		unix.Close(pfd)
		return 0, Attr{}, err
	}
	if open >= 0 {
		var ost unix.Stat_t
		if err := unix.Fstat(open, &ost); err != nil || ost.Dev != st.Dev || ost.Ino != st.Ino {
			unix.Close(pfd)
			return 0, Attr{}, linux.ESTALE
		}
	}
	n := newNode(pfd, &st)
	dn.attach(name, n)
	return ss.newFID(n), toAttr(&st), nil
}

// makeNode is the common end of mkdir, mknod and symlink: the new file
// dn/name gets its owner (and mode unless it is a symlink), a node and a
// FID. On failure it is removed again.
func (ss *session) makeNode(dn *node, name string, mode, uid, gid uint32, e *encoder) error {
	f, _, err := ss.addChild(dn, name, -1)
	if err == nil {
		n := ss.fids[f]
		err = unix.Fchownat(n.fd, "", int(uid), int(gid), unix.AT_EMPTY_PATH|unix.AT_SYMLINK_NOFOLLOW)
		if err == nil && n.ftype != unix.S_IFLNK {
			err = chmod(n, mode&0o7777)
		}
		var a Attr
		if err == nil {
			a, err = statAttr(n.fd)
		}
		if err == nil {
			e.fid(f)
			e.attr(a)
			return nil
		}
		delete(ss.fids, f)
		n.decRef()
	}
	flags := 0
	if mode&unix.S_IFMT == unix.S_IFDIR {
		flags = unix.AT_REMOVEDIR
	}
	unix.Unlinkat(dn.fd, name, flags)
	return err
}

func (ss *session) mkdir(d *decoder, e *encoder) (int, error) {
	dirF, name, mode, uid, gid := d.fid(), d.str(), d.u32(), d.u32(), d.u32()
	if !d.done() {
		return -1, linux.EINVAL
	}
	dn, err := ss.beginCreate(dirF, name)
	if err != nil {
		return -1, err
	}
	defer ss.endCreate(dn)
	if err := unix.Mkdirat(dn.fd, name, mode&0o7777); err != nil {
		return -1, err
	}
	return -1, ss.makeNode(dn, name, unix.S_IFDIR|mode&0o7777, uid, gid, e)
}

func (ss *session) mknod(d *decoder, e *encoder) (int, error) {
	dirF, name, mode, uid, gid := d.fid(), d.str(), d.u32(), d.u32(), d.u32()
	if !d.done() {
		return -1, linux.EINVAL
	}
	if t := mode & unix.S_IFMT; t != unix.S_IFIFO && t != unix.S_IFSOCK {
		return -1, linux.EPERM
	}
	dn, err := ss.beginCreate(dirF, name)
	if err != nil {
		return -1, err
	}
	defer ss.endCreate(dn)
	if err := unix.Mknodat(dn.fd, name, mode&(unix.S_IFMT|0o7777), 0); err != nil {
		return -1, err
	}
	return -1, ss.makeNode(dn, name, mode, uid, gid, e)
}

func (ss *session) symlink(d *decoder, e *encoder) (int, error) {
	dirF, name, target, uid, gid := d.fid(), d.str(), d.str(), d.u32(), d.u32()
	if !d.done() {
		return -1, linux.EINVAL
	}
	switch {
	case target == "":
		return -1, linux.ENOENT
	case len(target) > maxTarget:
		return -1, linux.ENAMETOOLONG
	}
	for i := 0; i < len(target); i++ {
		if target[i] == 0 {
			return -1, linux.EINVAL
		}
	}
	dn, err := ss.beginCreate(dirF, name)
	if err != nil {
		return -1, err
	}
	defer ss.endCreate(dn)
	if err := unix.Symlinkat(target, dn.fd, name); err != nil {
		return -1, err
	}
	return -1, ss.makeNode(dn, name, unix.S_IFLNK|0o777, uid, gid, e)
}

func (ss *session) link(d *decoder, e *encoder) (int, error) {
	dirF, name, targetF := d.fid(), d.str(), d.fid()
	if !d.done() {
		return -1, linux.EINVAL
	}
	tn, err := ss.get(targetF)
	if err != nil {
		return -1, err
	}
	defer ss.put(tn)
	if tn.isDir() {
		return -1, linux.EPERM
	}
	dn, err := ss.beginCreate(dirF, name)
	if err != nil {
		return -1, err
	}
	defer ss.endCreate(dn)
	err = unix.Linkat(tn.fd, "", dn.fd, name, unix.AT_EMPTY_PATH)
	if err == unix.ENOENT && tn.name != "" {
		// Without CAP_DAC_READ_SEARCH AT_EMPTY_PATH fails: link by
		// parent and name instead (linkat does not follow symlinks
		// without AT_SYMLINK_FOLLOW), after checking the name is tn.
		var st unix.Stat_t
		if err = unix.Fstatat(tn.parent.fd, tn.name, &st, unix.AT_SYMLINK_NOFOLLOW); err == nil {
			if !tn.same(&st) {
				return -1, linux.ESTALE
			}
			err = unix.Linkat(tn.parent.fd, tn.name, dn.fd, name, 0)
		}
	}
	if err != nil {
		return -1, err
	}
	a, err := statAttr(tn.fd)
	if err != nil {
		return -1, err
	}
	e.attr(a)
	return -1, nil
}

func (ss *session) unlink(d *decoder, e *encoder) (int, error) {
	dirF, name, flags := d.fid(), d.str(), d.u32()
	if !d.done() {
		return -1, linux.EINVAL
	}
	if flags&^unix.AT_REMOVEDIR != 0 {
		return -1, linux.EINVAL
	}
	dn, err := ss.beginCreate(dirF, name)
	if err != nil {
		return -1, err
	}
	defer ss.endCreate(dn)
	if err := unix.Unlinkat(dn.fd, name, int(flags)); err != nil {
		return -1, err
	}
	if n := dn.children[name]; n != nil {
		n.detach()
	}
	return -1, nil
}

func (ss *session) rename(d *decoder, e *encoder) (int, error) {
	oldF, oldName, newF, newName := d.fid(), d.str(), d.fid(), d.str()
	if !d.done() {
		return -1, linux.EINVAL
	}
	if err := checkName(newName); err != nil {
		return -1, err
	}
	nd, err := ss.getDir(newF)
	if err != nil {
		return -1, err
	}
	defer ss.put(nd)
	od, err := ss.beginCreate(oldF, oldName)
	if err != nil {
		return -1, err
	}
	defer ss.endCreate(od)
	if err := unix.Renameat(od.fd, oldName, nd.fd, newName); err != nil {
		return -1, err
	}
	// Renaming one hard link over another of the same file does nothing.
	var st unix.Stat_t
	if unix.Fstatat(od.fd, oldName, &st, unix.AT_SYMLINK_NOFOLLOW) == nil {
		return -1, nil
	}
	if n := od.children[oldName]; n != nil {
		n.detach()
		nd.attach(newName, n)
	} else if old := nd.children[newName]; old != nil {
		old.detach()
	}
	return -1, nil
}

// setAttrMasks are the SetAttr fields the server knows.
const setAttrMasks = SetMode | SetUID | SetGID | SetSize | SetAtime | SetMtime

func (ss *session) setAttr(d *decoder, e *encoder) (int, error) {
	f := d.fid()
	req := SetAttrRequest{Mask: SetAttrMask(d.u32()), Mode: d.u32(), UID: d.u32(), GID: d.u32(),
		Size: d.u64(), Atime: d.i64(), Mtime: d.i64()}
	if !d.done() || req.Mask&^setAttrMasks != 0 {
		return -1, linux.EINVAL
	}
	if err := ss.writable(); err != nil {
		return -1, err
	}
	n, err := ss.get(f)
	if err != nil {
		return -1, err
	}
	defer ss.put(n)
	ss.srv.mu.RLock()
	defer ss.srv.mu.RUnlock()
	return -1, setAttr(n, req)
}

// setAttr applies req to n in the order chown, chmod (chown clears set-id
// bits), truncate, times. Server.mu must be held.
func setAttr(n *node, req SetAttrRequest) error {
	if req.Mask&(SetUID|SetGID) != 0 {
		uid, gid := -1, -1
		if req.Mask&SetUID != 0 {
			uid = int(req.UID)
		}
		if req.Mask&SetGID != 0 {
			gid = int(req.GID)
		}
		if err := unix.Fchownat(n.fd, "", uid, gid, unix.AT_EMPTY_PATH|unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return err
		}
	}
	if req.Mask&SetMode != 0 {
		if err := chmod(n, req.Mode&0o7777); err != nil {
			return err
		}
	}
	if req.Mask&SetSize != 0 {
		if err := truncate(n, req.Size); err != nil {
			return err
		}
	}
	if req.Mask&(SetAtime|SetMtime) != 0 {
		ts := []unix.Timespec{{Nsec: unix.UTIME_OMIT}, {Nsec: unix.UTIME_OMIT}}
		if req.Mask&SetAtime != 0 {
			ts[0] = unix.NsecToTimespec(req.Atime)
		}
		if req.Mask&SetMtime != 0 {
			ts[1] = unix.NsecToTimespec(req.Mtime)
		}
		if err := unix.UtimesNanoAt(n.fd, "", ts, unix.AT_EMPTY_PATH|unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return err
		}
	}
	return nil
}

// chmod changes n's permission bits without following a symlink. Without
// fchmodat2 (Linux < 6.6) it reopens a directory or regular file for
// fchmod. Server.mu must be held.
func chmod(n *node, perm uint32) error {
	err := fchmodat2(n.fd, perm)
	if err != unix.ENOSYS {
		return err
	}
	var fd int
	switch n.ftype {
	case unix.S_IFDIR:
		fd, err = unix.Openat(n.fd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	case unix.S_IFREG:
		fd, err = reopen(n, unix.O_RDONLY)
	default:
		return linux.EOPNOTSUPP
	}
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return unix.Fchmod(fd, perm)
}

// truncate sets a regular file's size. Server.mu must be held.
func truncate(n *node, size uint64) error {
	switch n.ftype {
	case unix.S_IFREG:
	case unix.S_IFDIR:
		return linux.EISDIR
	default:
		return linux.EINVAL
	}
	if size > 1<<63-1 {
		return linux.EFBIG
	}
	fd, err := reopen(n, unix.O_WRONLY)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return unix.Ftruncate(fd, int64(size))
}
