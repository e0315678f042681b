package gofer

import (
	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/vfs"
)

// Lookup implements vfs.DirInode.
func (i *inode) Lookup(_ vfs.Context, name string) (vfs.Inode, error) {
	fid, a, err := i.fs.client.Walk(i.fid, name)
	if err != nil {
		return nil, err
	}
	return i.fs.newInode(fid, a), nil
}

// Readdir implements vfs.DirInode.
func (i *inode) Readdir(vfs.Context) ([]vfs.Dirent, error) {
	ents, err := i.fs.client.Readdir(i.fid)
	if err != nil {
		return nil, err
	}
	out := make([]vfs.Dirent, len(ents))
	for k, e := range ents {
		out[k] = vfs.Dirent{Name: e.Name, Ino: e.Ino, Type: e.Type}
	}
	return out, nil
}

// Create implements vfs.DirWriter.
func (i *inode) Create(_ vfs.Context, name string, flags uint32, o vfs.CreateOpts) (vfs.Inode, vfs.FileImpl, error) {
	fid, a, fd, err := i.fs.client.Create(i.fid, name, flags&linux.O_ACCMODE, o.Mode&linux.PermMask, o.UID, o.GID)
	if err != nil {
		return nil, nil, err
	}
	c := i.fs.newInode(fid, a)
	return c, c.newRegularFD(fd, flags), nil
}

// Mkdir implements vfs.DirWriter.
func (i *inode) Mkdir(_ vfs.Context, name string, o vfs.CreateOpts) (vfs.Inode, error) {
	fid, a, err := i.fs.client.Mkdir(i.fid, name, o.Mode&linux.PermMask, o.UID, o.GID)
	if err != nil {
		return nil, err
	}
	return i.fs.newInode(fid, a), nil
}

// Mknod implements vfs.DirWriter (FIFOs and sockets; the server refuses
// device nodes with EPERM).
func (i *inode) Mknod(_ vfs.Context, name string, o vfs.CreateOpts) (vfs.Inode, error) {
	fid, a, err := i.fs.client.Mknod(i.fid, name, o.Mode, o.UID, o.GID)
	if err != nil {
		return nil, err
	}
	return i.fs.newInode(fid, a), nil
}

// Symlink implements vfs.DirWriter.
func (i *inode) Symlink(_ vfs.Context, name, target string, o vfs.CreateOpts) (vfs.Inode, error) {
	fid, a, err := i.fs.client.Symlink(i.fid, name, target, o.UID, o.GID)
	if err != nil {
		return nil, err
	}
	c := i.fs.newInode(fid, a)
	c.target = target
	return c, nil
}

// Link implements vfs.DirWriter.
func (i *inode) Link(_ vfs.Context, name string, target vfs.Inode) error {
	t, ok := target.(*inode)
	if !ok || t.fs != i.fs {
		return linux.EXDEV
	}
	a, err := i.fs.client.Link(i.fid, name, t.fid)
	if err != nil {
		return err
	}
	t.mu.Lock()
	t.attr = toAttr(a)
	t.mu.Unlock()
	return nil
}

// Unlink implements vfs.DirWriter.
func (i *inode) Unlink(_ vfs.Context, name string) error {
	return i.fs.client.Unlink(i.fid, name, 0)
}

// Rmdir implements vfs.DirWriter.
func (i *inode) Rmdir(_ vfs.Context, name string) error {
	return i.fs.client.Unlink(i.fid, name, linux.AT_REMOVEDIR)
}

// Rename implements vfs.DirWriter.
func (i *inode) Rename(_ vfs.Context, oldName string, newDir vfs.Inode, newName string) error {
	nd, ok := newDir.(*inode)
	if !ok || nd.fs != i.fs {
		return linux.EXDEV
	}
	return i.fs.client.Rename(i.fid, oldName, nd.fid, newName)
}
