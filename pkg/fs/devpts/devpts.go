// Package devpts is a minimal devpts filesystem for /dev/pts: a directory
// (mode 0755) holding the ptmx node (char 5:2) and, as N, each host pty
// slave the sandbox gave a container process as its terminal (see
// Terminals), reported with the type name "devpts" and devpts's statfs
// magic. Pseudo-terminals cannot be created inside the sandbox yet.
//
// Every inode reports st_dev host.PTSDev, which host pty slave files also
// report, so that stat of /dev/pts/N and fstat of a file on that terminal
// agree (ttyname(3) compares st_dev, st_ino and st_rdev).
package devpts

import (
	"slices"
	"strconv"
	"sync"

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
	ptmx := &ptmxNode{mode: ptmxMode & linux.PermMask}
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

// ptmxNode is /dev/pts/ptmx: its mode and owner can change.
type ptmxNode struct {
	mu       sync.Mutex
	mode     uint32 // permission bits; guarded by mu
	uid, gid uint32 // guarded by mu
}

// Stat implements vfs.Inode.
func (p *ptmxNode) Stat(vfs.Context) (vfs.Attr, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return vfs.Attr{
		Mode: linux.S_IFCHR | p.mode, UID: p.uid, GID: p.gid, Nlink: 1, BlkSize: 4096,
		Ino: ptmxIno, Dev: host.PTSDev, Rdev: PTMX,
	}, nil
}

// Open implements vfs.Inode through the registered ptmx device, if any.
func (p *ptmxNode) Open(ctx vfs.Context, flags uint32) (vfs.FileImpl, error) {
	return vfs.OpenCharDevice(ctx, PTMX, flags)
}

// SetAttr implements vfs.SetAttrer: chmod and chown.
func (p *ptmxNode) SetAttr(_ vfs.Context, req vfs.SetAttrRequest) error {
	if req.Mask&vfs.SetSize != 0 {
		return linux.EINVAL
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if req.Mask&vfs.SetMode != 0 {
		p.mode = req.Mode & linux.PermMask
	}
	if req.Mask&vfs.SetUID != 0 {
		p.uid = req.UID
	}
	if req.Mask&vfs.SetGID != 0 {
		p.gid = req.GID
	}
	return nil
}

// Terminals are the host pty slaves the sandbox shows in every devpts it
// mounts, by their host index.
type Terminals struct {
	mu    sync.Mutex
	nodes map[uint32]*host.PTSNode // guarded by mu
}

// NewTerminals returns an empty set.
func NewTerminals() *Terminals { return &Terminals{nodes: map[uint32]*host.PTSNode{}} }

// Add shows host pty slave fd as /dev/pts/N and returns N. It takes
// ownership of fd (also on error). The entry goes away when the host
// hangs the tty up (its master was closed). Adding a tty that is already
// shown changes nothing.
func (ts *Terminals) Add(fd int) (uint32, error) {
	node, err := host.NewPTSNode(fd)
	if err != nil {
		return 0, err
	}
	n := node.Index()
	ts.mu.Lock()
	if old := ts.nodes[n]; old != nil {
		select {
		case <-old.Done():
		default:
			ts.mu.Unlock()
			node.Close()
			return n, nil
		}
	}
	ts.nodes[n] = node
	ts.mu.Unlock()
	go func() {
		<-node.Done()
		ts.mu.Lock()
		if ts.nodes[n] == node {
			delete(ts.nodes, n)
		}
		ts.mu.Unlock()
		node.Close()
	}()
	return n, nil
}

// Remove stops showing /dev/pts/n.
func (ts *Terminals) Remove(n uint32) {
	ts.mu.Lock()
	node := ts.nodes[n]
	delete(ts.nodes, n)
	ts.mu.Unlock()
	if node != nil {
		node.Close()
	}
}

// entries lists the terminals in numeric order.
func (ts *Terminals) entries() []vfs.Entry {
	ts.mu.Lock()
	ns := make([]uint32, 0, len(ts.nodes))
	for n := range ts.nodes {
		ns = append(ns, n)
	}
	slices.Sort(ns)
	out := make([]vfs.Entry, 0, len(ns))
	for _, n := range ns {
		out = append(out, vfs.Entry{Name: strconv.FormatUint(uint64(n), 10), Inode: ts.nodes[n]})
	}
	ts.mu.Unlock()
	return out
}

// lookup returns the node named name, or nil.
func (ts *Terminals) lookup(name string) vfs.Inode {
	n, err := strconv.ParseUint(name, 10, 32)
	if err != nil || strconv.FormatUint(n, 10) != name {
		return nil
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if node := ts.nodes[uint32(n)]; node != nil {
		return node
	}
	return nil
}
