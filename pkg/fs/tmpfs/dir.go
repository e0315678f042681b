package tmpfs

import (
	"sort"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/fs/pipe"
	"bulwark.dev/pkg/vfs"
)

// Dir is a tmpfs directory.
type Dir struct {
	base
	parent   *Dir                  // guarded by fs.mu
	children map[string]tmpfsInode // guarded by fs.mu
}

func (fs *FS) newDir(opts vfs.CreateOpts) *Dir {
	d := &Dir{children: map[string]tmpfsInode{}}
	d.init(fs, opts)
	d.attr.Nlink = 2
	return d
}

// Open implements vfs.Inode.
func (d *Dir) Open(vfs.Context, uint32) (vfs.FileImpl, error) { return vfs.NoFile{}, nil }

// Lookup implements vfs.DirInode.
func (d *Dir) Lookup(_ vfs.Context, name string) (vfs.Inode, error) {
	d.fs.mu.Lock()
	defer d.fs.mu.Unlock()
	if c, ok := d.children[name]; ok {
		return c, nil
	}
	return nil, linux.ENOENT
}

// Readdir implements vfs.DirInode (entries sorted by name).
func (d *Dir) Readdir(ctx vfs.Context) ([]vfs.Dirent, error) {
	d.fs.mu.Lock()
	defer d.fs.mu.Unlock()
	out := make([]vfs.Dirent, 0, len(d.children))
	for name, c := range d.children {
		a, _ := c.Stat(ctx)
		out = append(out, vfs.Dirent{Name: name, Ino: a.Ino, Type: uint8(a.Mode >> 12 & 0xf)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Len returns the number of entries.
func (d *Dir) Len() int {
	d.fs.mu.Lock()
	defer d.fs.mu.Unlock()
	return len(d.children)
}

// addLocked links c as name. fs.mu must be held.
func (d *Dir) addLocked(name string, c tmpfsInode) error {
	if _, ok := d.children[name]; ok {
		return linux.EEXIST
	}
	d.children[name] = c
	if sub, ok := c.(*Dir); ok {
		sub.parent = d
		d.addLinks(1)
	}
	d.touch(true)
	return nil
}

func (d *Dir) add(name string, c tmpfsInode) error {
	d.fs.mu.Lock()
	defer d.fs.mu.Unlock()
	return d.addLocked(name, c)
}

// Create implements vfs.DirWriter.
func (d *Dir) Create(_ vfs.Context, name string, flags uint32, opts vfs.CreateOpts) (vfs.Inode, vfs.FileImpl, error) {
	f := d.fs.newFile(opts)
	if err := d.add(name, f); err != nil {
		return nil, nil, err
	}
	return f, f.open(), nil
}

// Mkdir implements vfs.DirWriter.
func (d *Dir) Mkdir(_ vfs.Context, name string, opts vfs.CreateOpts) (vfs.Inode, error) {
	c := d.fs.newDir(opts)
	if err := d.add(name, c); err != nil {
		return nil, err
	}
	return c, nil
}

// Mknod implements vfs.DirWriter: FIFOs, sockets and device nodes.
func (d *Dir) Mknod(_ vfs.Context, name string, opts vfs.CreateOpts) (vfs.Inode, error) {
	n := &Node{}
	n.init(d.fs, opts)
	if opts.Mode&linux.S_IFMT == linux.S_IFIFO {
		n.pipe = pipe.New()
	}
	if err := d.add(name, n); err != nil {
		return nil, err
	}
	return n, nil
}

// Symlink implements vfs.DirWriter.
func (d *Dir) Symlink(_ vfs.Context, name, target string, opts vfs.CreateOpts) (vfs.Inode, error) {
	s := &Symlink{target: target}
	opts.Mode = linux.S_IFLNK | 0o777
	s.init(d.fs, opts)
	s.attr.Size = int64(len(target))
	if err := d.add(name, s); err != nil {
		return nil, err
	}
	return s, nil
}

// Link implements vfs.DirWriter.
func (d *Dir) Link(_ vfs.Context, name string, target vfs.Inode) error {
	t, ok := target.(tmpfsInode)
	if !ok || t.b().fs != d.fs {
		return linux.EXDEV
	}
	if _, isDir := t.(*Dir); isDir {
		return linux.EPERM
	}
	if err := d.add(name, t); err != nil {
		return err
	}
	t.b().addLinks(1)
	return nil
}

// Unlink implements vfs.DirWriter.
func (d *Dir) Unlink(_ vfs.Context, name string) error {
	d.fs.mu.Lock()
	defer d.fs.mu.Unlock()
	c, ok := d.children[name]
	if !ok {
		return linux.ENOENT
	}
	if _, isDir := c.(*Dir); isDir {
		return linux.EISDIR
	}
	delete(d.children, name)
	dropLink(c)
	d.touch(true)
	return nil
}

// Rmdir implements vfs.DirWriter.
func (d *Dir) Rmdir(_ vfs.Context, name string) error {
	d.fs.mu.Lock()
	defer d.fs.mu.Unlock()
	c, ok := d.children[name]
	if !ok {
		return linux.ENOENT
	}
	sub, isDir := c.(*Dir)
	if !isDir {
		return linux.ENOTDIR
	}
	if len(sub.children) != 0 {
		return linux.ENOTEMPTY
	}
	d.removeDirLocked(name, sub)
	return nil
}

// removeDirLocked unlinks the empty directory sub. fs.mu must be held.
func (d *Dir) removeDirLocked(name string, sub *Dir) {
	delete(d.children, name)
	sub.addLinks(-2)
	d.addLinks(-1)
	d.touch(true)
}

// Rename implements vfs.DirWriter.
func (d *Dir) Rename(_ vfs.Context, oldName string, newDir vfs.Inode, newName string) error {
	nd, ok := newDir.(*Dir)
	if !ok || nd.fs != d.fs {
		return linux.EXDEV
	}
	d.fs.mu.Lock()
	defer d.fs.mu.Unlock()
	c, ok := d.children[oldName]
	if !ok {
		return linux.ENOENT
	}
	if old, ok := nd.children[newName]; ok {
		if old == c {
			return nil
		}
		if od, isDir := old.(*Dir); isDir {
			if len(od.children) != 0 {
				return linux.ENOTEMPTY
			}
			nd.removeDirLocked(newName, od)
		} else {
			delete(nd.children, newName)
			dropLink(old)
		}
	}
	delete(d.children, oldName)
	if _, isDir := c.(*Dir); isDir {
		d.addLinks(-1)
	}
	d.touch(true)
	c.b().touch(false)
	return nd.addLocked(newName, c)
}

// dropLink removes one link to c, freeing a regular file's data once it
// has neither links nor open descriptions.
func dropLink(c tmpfsInode) {
	c.b().addLinks(-1)
	if f, ok := c.(*File); ok {
		f.maybeFree()
	}
}

// Symlink is a tmpfs symbolic link.
type Symlink struct {
	base
	target string
}

// Open implements vfs.Inode.
func (s *Symlink) Open(vfs.Context, uint32) (vfs.FileImpl, error) { return nil, linux.ELOOP }

// Readlink implements vfs.SymlinkInode.
func (s *Symlink) Readlink(vfs.Context) (string, error) { return s.target, nil }

// Node is a FIFO, socket or device node.
type Node struct {
	base
	pipe *pipe.Pipe // FIFOs only
}

// Open implements vfs.Inode: FIFOs open their pipe, character devices the
// registered device (vfs.OpenCharDevice); others fail with ENXIO.
func (n *Node) Open(ctx vfs.Context, flags uint32) (vfs.FileImpl, error) {
	if n.pipe != nil {
		return n.pipe.Open(ctx, flags)
	}
	a, _ := n.Stat(ctx)
	if a.Type() == linux.S_IFCHR {
		return vfs.OpenCharDevice(ctx, a.Rdev, flags)
	}
	return nil, linux.ENXIO
}
