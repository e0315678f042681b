package gofer

import (
	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/fsproto"
	"bulwark.dev/pkg/vfs"
)

// Lookup implements vfs.DirInode.
func (i *inode) Lookup(_ vfs.Context, name string) (vfs.Inode, error) {
	if i.knownMissing(name) {
		return nil, linux.ENOENT
	}
	st := i.stamp()
	fid, a, err := i.fs.client.Walk(i.fid, name)
	if err == linux.ENOENT {
		i.addMissing(name, st)
	}
	if err != nil {
		return nil, err
	}
	return i.fs.newChild(fid, a, st), nil
}

// Valid implements vfs.Revalidator. On a shared filesystem the host may
// have replaced name (an editor's or Kubernetes' write-and-rename) or
// removed it since the sandbox walked to child: it still names child if
// the host's file there has child's inode number and type. An exclusive
// filesystem changes only through the sandbox, which keeps the cache true.
func (i *inode) Valid(_ vfs.Context, name string, child vfs.Inode) bool {
	c, ok := child.(*inode)
	if i.fs.exclusive || !ok {
		return true
	}
	a, err := i.fs.client.StatAt(i.fid, name)
	if err != nil {
		return false
	}
	was := c.CachedAttr()
	return a.Ino == was.Ino && a.Mode&linux.S_IFMT == was.Mode&linux.S_IFMT
}

// Readdir implements vfs.DirInode.
func (i *inode) Readdir(vfs.Context) ([]vfs.Dirent, error) {
	if ents := i.cachedDirents(); ents != nil {
		return ents, nil
	}
	st := i.stamp()
	ents, err := i.fs.client.Readdir(i.fid)
	if err != nil {
		return nil, err
	}
	out := make([]vfs.Dirent, len(ents))
	for k, e := range ents {
		out[k] = vfs.Dirent{Name: e.Name, Ino: e.Ino, Type: e.Type}
	}
	i.storeDirents(out, st)
	return out, nil
}

// made finishes the creation of name in directory i, requested after st:
// it makes the new inode and records the change.
func (i *inode) made(name string, fid fsproto.FID, a fsproto.Attr, st attrStamp) *inode {
	i.dirChanged(name, true)
	return i.fs.newChild(fid, a, st)
}

// Create implements vfs.DirWriter.
func (i *inode) Create(_ vfs.Context, name string, flags uint32, o vfs.CreateOpts) (vfs.Inode, vfs.FileImpl, error) {
	st := i.stamp()
	acc := accMode(flags)
	fid, a, fd, err := i.fs.client.Create(i.fid, name, acc, o.Mode&linux.PermMask, o.UID, o.GID)
	if err != nil {
		return nil, nil, err
	}
	c := i.made(name, fid, a, st)
	if i.fs.exclusive {
		fd = i.fs.fds.adopt(c, acc, fd)
	}
	return c, c.newRegularFD(fd, flags), nil
}

// Mkdir implements vfs.DirWriter.
func (i *inode) Mkdir(_ vfs.Context, name string, o vfs.CreateOpts) (vfs.Inode, error) {
	st := i.stamp()
	fid, a, err := i.fs.client.Mkdir(i.fid, name, o.Mode&linux.PermMask, o.UID, o.GID)
	if err != nil {
		return nil, err
	}
	return i.made(name, fid, a, st), nil
}

// Mknod implements vfs.DirWriter (FIFOs and sockets; the server refuses
// device nodes with EPERM).
func (i *inode) Mknod(_ vfs.Context, name string, o vfs.CreateOpts) (vfs.Inode, error) {
	st := i.stamp()
	fid, a, err := i.fs.client.Mknod(i.fid, name, o.Mode, o.UID, o.GID)
	if err != nil {
		return nil, err
	}
	return i.made(name, fid, a, st), nil
}

// Symlink implements vfs.DirWriter.
func (i *inode) Symlink(_ vfs.Context, name, target string, o vfs.CreateOpts) (vfs.Inode, error) {
	st := i.stamp()
	fid, a, err := i.fs.client.Symlink(i.fid, name, target, o.UID, o.GID)
	if err != nil {
		return nil, err
	}
	c := i.made(name, fid, a, st)
	c.target = target
	return c, nil
}

// Link implements vfs.DirWriter.
func (i *inode) Link(_ vfs.Context, name string, target vfs.Inode) error {
	t, ok := target.(*inode)
	if !ok || t.fs != i.fs {
		return linux.EXDEV
	}
	st := t.stamp()
	a, err := i.fs.client.Link(i.fid, name, t.fid)
	if err != nil {
		return err
	}
	i.dirChanged(name, true)
	t.data.RLock()
	defer t.data.RUnlock()
	t.setAttrLocked(a, st)
	return nil
}

// Unlink implements vfs.DirWriter.
func (i *inode) Unlink(_ vfs.Context, name string) error {
	return i.remove(name, 0)
}

// Rmdir implements vfs.DirWriter.
func (i *inode) Rmdir(_ vfs.Context, name string) error {
	return i.remove(name, linux.AT_REMOVEDIR)
}

func (i *inode) remove(name string, flags uint32) error {
	if err := i.fs.client.Unlink(i.fid, name, flags); err != nil {
		return err
	}
	i.dirChanged(name, false)
	i.fs.invalidateAll() // the file's link count
	return nil
}

// Rename implements vfs.DirWriter.
func (i *inode) Rename(_ vfs.Context, oldName string, newDir vfs.Inode, newName string) error {
	nd, ok := newDir.(*inode)
	if !ok || nd.fs != i.fs {
		return linux.EXDEV
	}
	if err := i.fs.client.Rename(i.fid, oldName, nd.fid, newName); err != nil {
		return err
	}
	i.dirChanged(oldName, false)
	nd.dirChanged(newName, true)
	i.fs.invalidateAll() // the moved file's ctime, a replaced file's link count
	return nil
}
