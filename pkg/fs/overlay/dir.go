package overlay

import (
	"sort"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/vfs"
)

// isWhiteout reports whether an upper-layer inode is a whiteout.
func isWhiteout(in vfs.Inode) bool {
	a, err := attrOf(bg, in, true)
	return err == nil && a.Type() == linux.S_IFCHR && a.Rdev == 0
}

func isDir(in vfs.Inode) bool {
	a, err := attrOf(bg, in, true)
	return err == nil && a.Type() == linux.S_IFDIR
}

func lookupIn(in vfs.Inode, name string) (vfs.Inode, error) {
	d, ok := in.(vfs.DirInode)
	if !ok || !isDir(in) {
		return nil, linux.ENOENT
	}
	return d.Lookup(bg, name)
}

// opaqueLocked reports whether the lower directory is hidden.
func (i *inode) opaqueLocked() bool {
	if i.upper == nil {
		return false
	}
	_, err := lookupIn(i.upper, opaqueMarker)
	return err == nil
}

// childLocked returns the merged child name (linux.ENOENT if missing or
// whited out). fs.mu must be held.
func (i *inode) childLocked(name string) (*inode, error) {
	if name == opaqueMarker {
		return nil, linux.ENOENT
	}
	if c, ok := i.children[name]; ok {
		return c, nil
	}
	c := &inode{fs: i.fs, parent: i, name: name}
	if i.upper != nil {
		u, err := lookupIn(i.upper, name)
		switch {
		case err == nil && isWhiteout(u):
			return nil, linux.ENOENT
		case err == nil:
			c.upper = u
		case err != linux.ENOENT:
			return nil, err
		}
	}
	if i.lower != nil && (c.upper == nil || isDir(c.upper)) && !i.opaqueLocked() {
		l, err := lookupIn(i.lower, name)
		switch {
		case err == nil && (c.upper == nil || isDir(l)):
			c.lower = l
		case err != nil && err != linux.ENOENT:
			return nil, err
		}
	}
	if c.upper == nil && c.lower == nil {
		return nil, linux.ENOENT
	}
	if i.children == nil {
		i.children = map[string]*inode{}
	}
	i.children[name] = c
	return c, nil
}

// Valid implements vfs.Revalidator. A file the sandbox wrote (it has an
// upper layer) is its own; a file only in the lower layer is still valid
// if the lower layer says so (a shared gofer filesystem asks the host).
// An invalid child is forgotten, so that Lookup finds the host's new file.
func (i *inode) Valid(ctx vfs.Context, name string, child vfs.Inode) bool {
	c, ok := child.(*inode)
	if !ok {
		return true
	}
	i.fs.mu.Lock()
	rv, check := i.lower.(vfs.Revalidator)
	lower, onlyLower := c.lower, c.upper == nil && c.lower != nil
	i.fs.mu.Unlock()
	if !check || !onlyLower || rv.Valid(ctx, name, lower) {
		return true
	}
	i.fs.mu.Lock()
	if i.children[name] == c {
		delete(i.children, name)
	}
	i.fs.mu.Unlock()
	return false
}

// Lookup implements vfs.DirInode.
func (i *inode) Lookup(_ vfs.Context, name string) (vfs.Inode, error) {
	i.fs.mu.Lock()
	defer i.fs.mu.Unlock()
	c, err := i.childLocked(name)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// readdirLocked merges both layers. fs.mu must be held.
func (i *inode) readdirLocked(ctx vfs.Context) ([]vfs.Dirent, error) {
	seen := map[string]bool{opaqueMarker: true}
	var out []vfs.Dirent
	if i.upper != nil {
		ents, err := i.upper.(vfs.DirInode).Readdir(ctx)
		if err != nil {
			return nil, err
		}
		for _, e := range ents {
			if seen[e.Name] {
				continue
			}
			seen[e.Name] = true
			if e.Type == linux.DT_CHR {
				if u, err := lookupIn(i.upper, e.Name); err == nil && isWhiteout(u) {
					continue
				}
			}
			out = append(out, e)
		}
	}
	if i.lower != nil && !i.opaqueLocked() {
		ents, err := i.lower.(vfs.DirInode).Readdir(ctx)
		if err != nil {
			return nil, err
		}
		for _, e := range ents {
			if !seen[e.Name] {
				seen[e.Name] = true
				out = append(out, e)
			}
		}
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Name < out[b].Name })
	return out, nil
}

// Readdir implements vfs.DirInode.
func (i *inode) Readdir(ctx vfs.Context) ([]vfs.Dirent, error) {
	i.fs.mu.Lock()
	defer i.fs.mu.Unlock()
	return i.readdirLocked(ctx)
}

// prepareLocked copies the directory up and removes a whiteout at name,
// returning the upper directory's writer and whether a whiteout was there.
func (i *inode) prepareLocked(name string) (vfs.DirWriter, bool, error) {
	if err := i.copyUpLocked(); err != nil {
		return nil, false, err
	}
	w, ok := i.upper.(vfs.DirWriter)
	if !ok {
		return nil, false, linux.EROFS
	}
	u, err := lookupIn(i.upper, name)
	if err != nil || !isWhiteout(u) {
		return w, false, nil
	}
	if err := w.Unlink(bg, name); err != nil {
		return nil, false, err
	}
	return w, true, nil
}

// addLocked records a new upper-only child.
func (i *inode) addLocked(name string, up vfs.Inode) *inode {
	c := &inode{fs: i.fs, parent: i, name: name, upper: up}
	if i.children == nil {
		i.children = map[string]*inode{}
	}
	i.children[name] = c
	return c
}

// Create implements vfs.DirWriter.
func (i *inode) Create(ctx vfs.Context, name string, flags uint32, o vfs.CreateOpts) (vfs.Inode, vfs.FileImpl, error) {
	i.fs.mu.Lock()
	defer i.fs.mu.Unlock()
	w, _, err := i.prepareLocked(name)
	if err != nil {
		return nil, nil, err
	}
	up, impl, err := w.Create(ctx, name, flags, o)
	if err != nil {
		return nil, nil, err
	}
	return i.addLocked(name, up), impl, nil
}

// Mkdir implements vfs.DirWriter. A directory made where a lower one was
// deleted is opaque.
func (i *inode) Mkdir(ctx vfs.Context, name string, o vfs.CreateOpts) (vfs.Inode, error) {
	i.fs.mu.Lock()
	defer i.fs.mu.Unlock()
	w, whiteout, err := i.prepareLocked(name)
	if err != nil {
		return nil, err
	}
	up, err := w.Mkdir(ctx, name, o)
	if err != nil {
		return nil, err
	}
	if whiteout {
		if err := markOpaque(up); err != nil {
			return nil, err
		}
	}
	return i.addLocked(name, up), nil
}

func markOpaque(dir vfs.Inode) error {
	w, ok := dir.(vfs.DirWriter)
	if !ok {
		return linux.EROFS
	}
	_, impl, err := w.Create(bg, opaqueMarker, linux.O_RDONLY, vfs.CreateOpts{Mode: linux.S_IFREG})
	if err == nil {
		impl.Release()
	}
	return err
}

// Mknod implements vfs.DirWriter.
func (i *inode) Mknod(ctx vfs.Context, name string, o vfs.CreateOpts) (vfs.Inode, error) {
	i.fs.mu.Lock()
	defer i.fs.mu.Unlock()
	w, _, err := i.prepareLocked(name)
	if err != nil {
		return nil, err
	}
	up, err := w.Mknod(ctx, name, o)
	if err != nil {
		return nil, err
	}
	return i.addLocked(name, up), nil
}

// Symlink implements vfs.DirWriter.
func (i *inode) Symlink(ctx vfs.Context, name, target string, o vfs.CreateOpts) (vfs.Inode, error) {
	i.fs.mu.Lock()
	defer i.fs.mu.Unlock()
	w, _, err := i.prepareLocked(name)
	if err != nil {
		return nil, err
	}
	up, err := w.Symlink(ctx, name, target, o)
	if err != nil {
		return nil, err
	}
	return i.addLocked(name, up), nil
}

// Link implements vfs.DirWriter: the target is copied up first.
func (i *inode) Link(ctx vfs.Context, name string, target vfs.Inode) error {
	t, ok := target.(*inode)
	if !ok || t.fs != i.fs {
		return linux.EXDEV
	}
	i.fs.mu.Lock()
	defer i.fs.mu.Unlock()
	if err := t.copyUpLocked(); err != nil {
		return err
	}
	w, _, err := i.prepareLocked(name)
	if err != nil {
		return err
	}
	if err := w.Link(ctx, name, t.upper); err != nil {
		return err
	}
	i.addLocked(name, t.upper)
	return nil
}

// removeLocked removes child name: the upper entry if any (a directory
// must have been emptied with clearUpperLocked), and a whiteout over a
// lower one.
func (i *inode) removeLocked(ctx vfs.Context, name string, dir bool) error {
	c, err := i.childLocked(name)
	if err != nil {
		return err
	}
	w, _, err := i.prepareLocked(name)
	if err != nil {
		return err
	}
	if c.upper != nil {
		if dir {
			err = w.Rmdir(ctx, name)
		} else {
			err = w.Unlink(ctx, name)
		}
		if err != nil {
			return err
		}
	}
	if i.lowerHasLocked(name) {
		if _, err := w.Mknod(bg, name, vfs.CreateOpts{Mode: linux.S_IFCHR}); err != nil {
			return err
		}
	}
	delete(i.children, name)
	return nil
}

// clearUpperLocked checks that directory c is empty in the merged view and
// removes the whiteouts and marker from its upper directory.
func (c *inode) clearUpperLocked() error {
	ents, err := c.readdirLocked(bg)
	if err != nil {
		return err
	}
	if len(ents) != 0 {
		return linux.ENOTEMPTY
	}
	if c.upper == nil {
		return nil
	}
	raw, err := c.upper.(vfs.DirInode).Readdir(bg)
	if err != nil {
		return err
	}
	w := c.upper.(vfs.DirWriter)
	for _, e := range raw {
		if err := w.Unlink(bg, e.Name); err != nil {
			return err
		}
	}
	c.children = nil
	return nil
}

// Unlink implements vfs.DirWriter.
func (i *inode) Unlink(ctx vfs.Context, name string) error {
	i.fs.mu.Lock()
	defer i.fs.mu.Unlock()
	return i.removeLocked(ctx, name, false)
}

// Rmdir implements vfs.DirWriter.
func (i *inode) Rmdir(ctx vfs.Context, name string) error {
	i.fs.mu.Lock()
	defer i.fs.mu.Unlock()
	c, err := i.childLocked(name)
	if err != nil {
		return err
	}
	if err := c.clearUpperLocked(); err != nil {
		return err
	}
	return i.removeLocked(ctx, name, true)
}

// Rename implements vfs.DirWriter. Directories that exist in the lower
// layer cannot move (linux.EXDEV, so mv falls back to copying), like
// overlayfs without redirect_dir.
func (i *inode) Rename(ctx vfs.Context, oldName string, newDir vfs.Inode, newName string) error {
	nd, ok := newDir.(*inode)
	if !ok || nd.fs != i.fs {
		return linux.EXDEV
	}
	i.fs.mu.Lock()
	defer i.fs.mu.Unlock()
	c, err := i.childLocked(oldName)
	if err != nil {
		return err
	}
	cDir := isDir(c.topLocked())
	if cDir && c.lower != nil {
		return linux.EXDEV
	}
	if t, err := nd.childLocked(newName); err == nil {
		if isDir(t.topLocked()) {
			if t.lower != nil {
				return linux.EXDEV
			}
			if err := t.clearUpperLocked(); err != nil {
				return err
			}
		}
		if t.lower != nil {
			// The renamed file will hide the lower one; no whiteout needed.
			t.lower = nil
		}
	}
	if err := c.copyUpLocked(); err != nil {
		return err
	}
	if _, _, err := nd.prepareLocked(newName); err != nil {
		return err
	}
	if err := i.upper.(vfs.DirWriter).Rename(ctx, oldName, nd.upper, newName); err != nil {
		return err
	}
	if i.lowerHasLocked(oldName) {
		if _, err := i.upper.(vfs.DirWriter).Mknod(bg, oldName, vfs.CreateOpts{Mode: linux.S_IFCHR}); err != nil {
			return err
		}
	}
	delete(i.children, oldName)
	c.parent, c.name, c.lower = nd, newName, nil
	if nd.children == nil {
		nd.children = map[string]*inode{}
	}
	nd.children[newName] = c
	return nil
}

func (i *inode) topLocked() vfs.Inode {
	if i.upper != nil {
		return i.upper
	}
	return i.lower
}

// lowerHasLocked reports whether the lower layer shows name in i, so that
// removing it needs a whiteout.
func (i *inode) lowerHasLocked(name string) bool {
	if i.lower == nil || i.opaqueLocked() {
		return false
	}
	_, err := lookupIn(i.lower, name)
	return err == nil
}
