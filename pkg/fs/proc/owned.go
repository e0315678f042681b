package proc

import (
	"bulwark.dev/pkg/kernel"
	"bulwark.dev/pkg/vfs"
)

// Files of /proc/[pid] belong to the process's effective uid and gid (so
// a non-root process may search its own fd directory), like Linux. The
// wrappers below give the vfs synthetic inodes that owner at Stat time.

// owner is the process whose credentials own a /proc file.
type owner struct{ tg *kernel.ThreadGroup }

// fix sets the owner of the attributes a synthetic inode returned.
func (o owner) fix(a vfs.Attr, err error) (vfs.Attr, error) {
	if err != nil {
		return a, err
	}
	if c := o.tg.Snapshot().Creds; c != nil {
		a.UID, a.GID = c.EffectiveUID, c.EffectiveGID
	}
	return a, nil
}

type ownedStaticDir struct {
	*vfs.StaticDir
	owner
}

func (d ownedStaticDir) Stat(ctx vfs.Context) (vfs.Attr, error) { return d.fix(d.StaticDir.Stat(ctx)) }

type ownedDynamicDir struct {
	*vfs.DynamicDir
	owner
}

func (d ownedDynamicDir) Stat(ctx vfs.Context) (vfs.Attr, error) {
	return d.fix(d.DynamicDir.Stat(ctx))
}

type ownedFile struct {
	*vfs.FuncFile
	owner
}

func (f ownedFile) Stat(ctx vfs.Context) (vfs.Attr, error) { return f.fix(f.FuncFile.Stat(ctx)) }

type ownedLink struct {
	*vfs.FuncSymlink
	owner
}

func (l ownedLink) Stat(ctx vfs.Context) (vfs.Attr, error) { return l.fix(l.FuncSymlink.Stat(ctx)) }

// magicLink is a /proc magic link (fd/N, cwd, root): readlink returns its
// text, a path walk goes to the Location follow returns.
type magicLink struct {
	ownedLink
	follow func(ctx vfs.Context) (vfs.Location, error)
}

// Follow implements vfs.MagicLink.
func (l magicLink) Follow(ctx vfs.Context) (vfs.Location, error) { return l.follow(ctx) }

var _ vfs.MagicLink = magicLink{}
