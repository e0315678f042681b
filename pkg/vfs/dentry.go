package vfs

import (
	"strings"
	"sync"
	"sync/atomic"

	"bulwark.dev/pkg/abi/linux"
)

// Lock order:
//
//	File.mu (position) → renameMu → Dentry.mu (a directory's children; two
//	at once only while renameMu is held for writing) → MountNamespace.mu
//	→ filesystem-internal locks. File.asyncMu is a leaf.
//
// renameMu guards every Dentry's parent and name. It is held for writing
// only by rename; path walks take it briefly for reading.
var renameMu sync.RWMutex

// Dentry is a name of an inode in the tree: its parent and its name. The
// VFS caches a directory's children as dentries unless the directory is
// Dynamic.
type Dentry struct {
	inode Inode

	// parent and name are guarded by renameMu. The root of a mount has no
	// parent.
	parent *Dentry
	name   string

	mu       sync.Mutex
	children map[string]*Dentry // guarded by mu
	dead     atomic.Bool        // unlinked

	mounts atomic.Int32 // mounts on this dentry (any namespace)
}

func newDentry(parent *Dentry, name string, in Inode) *Dentry {
	return &Dentry{parent: parent, name: name, inode: in}
}

// Inode returns the dentry's inode.
func (d *Dentry) Inode() Inode { return d.inode }

// Name returns the dentry's current name.
func (d *Dentry) Name() string {
	renameMu.RLock()
	defer renameMu.RUnlock()
	return d.name
}

// lookupLocked returns the child name of d. d.mu must be held.
func (d *Dentry) lookupLocked(ctx Context, name string) (*Dentry, error) {
	if d.dead.Load() {
		return nil, linux.ENOENT
	}
	if c, ok := d.children[name]; ok {
		rv, check := d.inode.(Revalidator)
		if !check || c.mounts.Load() > 0 || rv.Valid(ctx, name, c.inode) {
			return c, nil
		}
		delete(d.children, name)
	}
	dir, ok := d.inode.(DirInode)
	if !ok {
		return nil, linux.ENOTDIR
	}
	in, err := dir.Lookup(ctx, name)
	if err != nil {
		return nil, err
	}
	c := newDentry(d, name, in)
	if !isDynamic(d.inode) {
		d.insertLocked(c)
	}
	return c, nil
}

// lookup returns the child name of d. Dynamic directories are asked
// without holding d.mu: their functions may need renameMu (PathName).
func (d *Dentry) lookup(ctx Context, name string) (*Dentry, error) {
	if isDynamic(d.inode) {
		if d.dead.Load() {
			return nil, linux.ENOENT
		}
		in, err := d.inode.(DirInode).Lookup(ctx, name)
		if err != nil {
			return nil, err
		}
		return newDentry(d, name, in), nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.lookupLocked(ctx, name)
}

// insertLocked caches child c. d.mu must be held.
func (d *Dentry) insertLocked(c *Dentry) {
	if isDynamic(d.inode) {
		return
	}
	if d.children == nil {
		d.children = make(map[string]*Dentry)
	}
	d.children[c.name] = c
}

// removeLocked drops the cached child name and marks it dead. d.mu must
// be held.
func (d *Dentry) removeLocked(name string) {
	if c, ok := d.children[name]; ok {
		c.dead.Store(true)
		delete(d.children, name)
	}
}

// Location is a place in the mount tree: a dentry of a mount.
type Location struct {
	Mount  *Mount
	Dentry *Dentry
}

// ok reports whether l is set.
func (l Location) ok() bool { return l.Mount != nil && l.Dentry != nil }

// pathFrom returns the absolute path of l seen from root (the zero
// Location: the namespace root), or with the "(unreachable)" prefix when l
// is not below root. Deleted files get a
// " (deleted)" suffix, like Linux.
func pathFrom(root, l Location) string {
	renameMu.RLock()
	defer renameMu.RUnlock()
	var parts []string
	reachable := false
	for {
		if l == root {
			reachable = true
			break
		}
		if l.Dentry == l.Mount.root {
			if l.Mount.parent == nil {
				reachable = root == Location{}
				break
			}
			l = Location{l.Mount.parent, l.Mount.point}
			continue
		}
		if l.Dentry.parent == nil {
			break // a detached tree
		}
		parts = append(parts, l.Dentry.name)
		l.Dentry = l.Dentry.parent
	}
	var b strings.Builder
	if !reachable {
		b.WriteString("(unreachable)")
	}
	for i := len(parts) - 1; i >= 0; i-- {
		b.WriteByte('/')
		b.WriteString(parts[i])
	}
	if len(parts) == 0 {
		b.WriteByte('/')
	}
	return b.String()
}
