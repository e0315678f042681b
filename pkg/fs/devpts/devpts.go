// Package devpts is the devpts filesystem for /dev/pts: a directory
// (mode 0755) holding the ptmx node (char 5:2), the slave N of each
// pseudo-terminal made inside the sandbox by opening ptmx (see pty.go),
// and, as N, each host pty slave the sandbox gave a container process as
// its terminal (see Terminals), reported with the type name "devpts" and
// devpts's statfs magic. It also provides /dev/tty (tty.go).
//
// Every inode reports st_dev host.PTSDev, which host pty slave files also
// report, so that stat of /dev/pts/N and fstat of a file on that terminal
// agree (ttyname(3) compares st_dev, st_ino and st_rdev).
package devpts

import (
	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/fs/host"
	"bulwark.dev/pkg/vfs"
)

// Magic is DEVPTS_SUPER_MAGIC, the statfs type of devpts.
const Magic = 0x1cd1

// PTMX is the device number of ptmx.
var PTMX = vfs.MakeDev(5, 2)

// The inode numbers Linux gives the root and ptmx.
const (
	rootIno = 1
	ptmxIno = 2
)

// FS is one devpts instance.
type FS struct {
	root *rootDir
}

// New returns a devpts whose ptmx node has permissions ptmxMode and which
// shows the terminals of terms (none if terms is nil).
func New(ptmxMode uint32, terms *Terminals) (*FS, error) {
	if terms == nil {
		terms = NewTerminals()
	}
	ptmx := &ptmxNode{terms: terms}
	ptmx.mode = ptmxMode & linux.PermMask
	d := vfs.NewDynamicDir(0o755, func(vfs.Context) ([]vfs.Entry, error) {
		return append([]vfs.Entry{{Name: "ptmx", Inode: ptmx}}, terms.entries()...), nil
	})
	d.Ino = rootIno
	d.LookupFn = func(_ vfs.Context, name string) (vfs.Inode, error) {
		if name == "ptmx" {
			return ptmx, nil
		}
		if in := terms.lookup(name); in != nil {
			return in, nil
		}
		return nil, linux.ENOENT
	}
	return &FS{root: &rootDir{d}}, nil
}

// Name implements vfs.Filesystem.
func (*FS) Name() string { return "devpts" }

// Root implements vfs.Filesystem.
func (fs *FS) Root() vfs.Inode { return fs.root }

// StatFS implements vfs.Filesystem.
func (fs *FS) StatFS(vfs.Context) (linux.Statfs, error) {
	return linux.Statfs{Type: Magic, Bsize: 4096, Namelen: linux.NAME_MAX, Frsize: 4096}, nil
}

// rootDir is the root directory; its entries change with the terminals.
type rootDir struct{ *vfs.DynamicDir }

// Stat implements vfs.Inode.
func (d *rootDir) Stat(ctx vfs.Context) (vfs.Attr, error) {
	a, err := d.DynamicDir.Stat(ctx)
	a.Dev = host.PTSDev
	return a, err
}

// ptmxNode is /dev/pts/ptmx: opening it makes a pty of terms. Its mode
// and owner can change.
type ptmxNode struct {
	nodeAttrs
	terms *Terminals
}

// Stat implements vfs.Inode.
func (p *ptmxNode) Stat(vfs.Context) (vfs.Attr, error) { return p.attr(ptmxIno, PTMX), nil }

// Open implements vfs.Inode.
func (p *ptmxNode) Open(ctx vfs.Context, flags uint32) (vfs.FileImpl, error) {
	return p.terms.openMaster(ctx)
}
