package vfs

import (
	"fmt"
	"strings"
	"sync"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/kernel/auth"
)

// MountOptions are the options of one mount.
type MountOptions struct {
	// ReadOnly makes every change through the mount fail with linux.EROFS.
	ReadOnly bool
	// Source is shown in /proc/mounts (e.g. "none", "tmpfs", "proc");
	// empty means the filesystem's name.
	Source string
	// Flags are the per-mount flags shown after rw/ro in /proc/mounts.
	// Of them, only nosuid has an effect (execve ignores set-user-ID and
	// set-group-ID bits there).
	Flags MountFlags
	// Data are the filesystem's own options (e.g. "mode=755"), shown in
	// the super options of mountinfo.
	Data string
	// Root is the path of the mount's root within its filesystem (the
	// fourth field of mountinfo; a bind mount's source); empty means "/".
	Root string
}

// MountFlags are per-mount flags (MS_NOSUID, MS_NODEV, ...).
type MountFlags uint32

// Mount flags, in the order /proc/mounts shows them.
const (
	MountNoSuid MountFlags = 1 << iota
	MountNoDev
	MountNoExec
	MountNoAtime
	MountNoDiratime
	// MountStrictAtime replaces the default relatime (shown as nothing).
	MountStrictAtime
)

var mountFlagNames = []string{"nosuid", "nodev", "noexec", "noatime", "nodiratime"}

// Options returns "rw" or "ro" and the flags, comma-separated (the
// default atime mode, relatime, is left to the caller to show).
func (o MountOptions) Options() string {
	words := []string{"rw"}
	if o.ReadOnly {
		words[0] = "ro"
	}
	for i, n := range mountFlagNames {
		if o.Flags&(1<<i) != 0 {
			words = append(words, n)
		}
	}
	return strings.Join(words, ",")
}

// Mount is a filesystem mounted somewhere in a MountNamespace.
type Mount struct {
	fs     Filesystem
	root   *Dentry
	opts   MountOptions
	dev    uint32
	parent *Mount  // nil for the namespace root
	point  *Dentry // mount point in parent
}

// Filesystem returns the mounted filesystem.
func (m *Mount) Filesystem() Filesystem { return m.fs }

// ReadOnly reports whether the mount is read-only.
func (m *Mount) ReadOnly() bool { return m.opts.ReadOnly }

// Flags returns the mount's per-mount flags.
func (m *Mount) Flags() MountFlags { return m.opts.Flags }

type mountKey struct {
	parent *Mount
	point  *Dentry
}

// MountNamespace is a mount tree.
type MountNamespace struct {
	root *Mount

	mu     sync.RWMutex
	mounts map[mountKey]*Mount // guarded by mu
	order  []*Mount            // in mount order, guarded by mu
}

var (
	devMu sync.Mutex
	devs  = map[Filesystem]uint32{}
)

// devFor returns the device number the VFS reports for files of fs.
func devFor(fs Filesystem) uint32 {
	devMu.Lock()
	defer devMu.Unlock()
	d, ok := devs[fs]
	if !ok {
		d = MakeDev(0, uint32(len(devs))+16)
		devs[fs] = d
	}
	return d
}

// NewMountNamespace returns a namespace whose root is the root directory
// of fs.
func NewMountNamespace(fs Filesystem, opts MountOptions) (*MountNamespace, error) {
	in := fs.Root()
	a, err := cachedStat(BackgroundContext(auth.NewRootCredentials()), in)
	if err != nil {
		return nil, fmt.Errorf("root filesystem %s: %w", fs.Name(), err)
	}
	if _, ok := in.(DirInode); !ok || a.Type() != linux.S_IFDIR {
		return nil, fmt.Errorf("root filesystem %s: root is not a directory", fs.Name())
	}
	m := &Mount{fs: fs, root: newDentry(nil, "/", in), opts: opts, dev: devFor(fs)}
	return &MountNamespace{root: m, mounts: map[mountKey]*Mount{}, order: []*Mount{m}}, nil
}

// Root returns the root of the namespace.
func (ns *MountNamespace) Root() Location { return Location{ns.root, ns.root.root} }

// mountAt returns the mount on top of l, or nil.
func (ns *MountNamespace) mountAt(l Location) *Mount {
	if ns == nil || l.Dentry.mounts.Load() == 0 {
		return nil
	}
	ns.mu.RLock()
	defer ns.mu.RUnlock()
	return ns.mounts[mountKey{l.Mount, l.Dentry}]
}

// followMounts returns the top-most mount root stacked on l.
func (ns *MountNamespace) followMounts(l Location) Location {
	for {
		m := ns.mountAt(l)
		if m == nil {
			return l
		}
		l = Location{m, m.root}
	}
}

// Mount mounts fs at target, an absolute path resolved from the namespace
// root as root. Missing directories on the way are created (mode 0755) when
// their parent is writable; a filesystem whose root is not a directory
// (a file bind mount) gets an empty regular file as its mount point.
func (ns *MountNamespace) Mount(target string, fs Filesystem, opts MountOptions) error {
	if !strings.HasPrefix(target, "/") {
		return fmt.Errorf("mounting %s at %q: the target must be an absolute path", fs.Name(), target)
	}
	ctx := BackgroundContext(auth.NewRootCredentials())
	rootIn := fs.Root()
	ra, err := cachedStat(ctx, rootIn)
	if err != nil {
		return fmt.Errorf("mounting %s at %q: %w", fs.Name(), target, err)
	}
	rootIsDir := ra.Type() == linux.S_IFDIR
	point, err := ns.makeMountPoint(ctx, target, rootIsDir)
	if err != nil {
		return fmt.Errorf("mounting %s at %q: %w", fs.Name(), target, err)
	}
	a, err := cachedStat(ctx, point.Dentry.inode)
	if err != nil {
		return fmt.Errorf("mounting %s at %q: %w", fs.Name(), target, err)
	}
	if (a.Type() == linux.S_IFDIR) != rootIsDir {
		return fmt.Errorf("mounting %s at %q: %w", fs.Name(), target, linux.ENOTDIR)
	}
	if isDynamic(point.Dentry.inode) {
		return fmt.Errorf("mounting %s at %q: cannot mount on a dynamic directory", fs.Name(), target)
	}
	m := &Mount{fs: fs, root: newDentry(nil, "/", rootIn), opts: opts, dev: devFor(fs),
		parent: point.Mount, point: point.Dentry}
	ns.mu.Lock()
	defer ns.mu.Unlock()
	key := mountKey{point.Mount, point.Dentry}
	if old := ns.mounts[key]; old != nil {
		// Stack the new mount on top of the existing one.
		m.parent, m.point = old, old.root
		key = mountKey{old, old.root}
	}
	ns.mounts[key] = m
	m.point.mounts.Add(1)
	ns.order = append(ns.order, m)
	return nil
}

// makeMountPoint resolves target, creating missing components.
func (ns *MountNamespace) makeMountPoint(ctx Context, target string, dir bool) (Location, error) {
	r := &resolver{ctx: ctx, ns: ns, root: ns.Root()}
	cur := r.root
	comps := splitPath(target)
	for i, name := range comps {
		next, err := r.step(cur, name, true, false)
		if err == linux.ENOENT {
			last := i == len(comps)-1
			if last && !dir {
				_, err = createFile(ctx, cur, name, 0o644)
			} else {
				_, err = mkdirIn(ctx, cur, name, 0o755)
			}
			if err != nil {
				return Location{}, fmt.Errorf("creating mount point %q: %w", "/"+strings.Join(comps[:i+1], "/"), err)
			}
			next, err = r.step(cur, name, true, false)
		}
		if err != nil {
			return Location{}, err
		}
		cur = next
	}
	return cur, nil
}

// MountInfo describes one mount, for /proc/<pid>/mounts.
type MountInfo struct {
	Source   string
	Target   string
	Type     string
	ReadOnly bool
	// Options are the mount options ("rw,nosuid"), Data the
	// filesystem's own, Root the mount's root within its filesystem.
	Options, Data, Root string
	Flags               MountFlags
}

// Mounts lists the mounts in mount order.
func (ns *MountNamespace) Mounts() []MountInfo {
	ns.mu.RLock()
	order := append([]*Mount(nil), ns.order...)
	ns.mu.RUnlock()
	out := make([]MountInfo, 0, len(order))
	for _, m := range order {
		src := m.opts.Source
		if src == "" {
			src = m.fs.Name()
		}
		root := m.opts.Root
		if root == "" {
			root = "/"
		}
		out = append(out, MountInfo{Source: src, Target: pathFrom(ns.Root(), Location{m, m.root}),
			Type: m.fs.Name(), ReadOnly: m.opts.ReadOnly, Options: m.opts.Options(), Data: m.opts.Data, Root: root,
			Flags: m.opts.Flags})
	}
	return out
}

// MountsText returns the mounts in /proc/mounts format.
func (ns *MountNamespace) MountsText() string {
	var b strings.Builder
	for _, m := range ns.Mounts() {
		opts := m.Options
		if m.Data != "" {
			opts += "," + m.Data
		}
		fmt.Fprintf(&b, "%s %s %s %s 0 0\n", m.Source, m.Target, m.Type, opts)
	}
	return b.String()
}

// NewFSContext returns a context whose root is the namespace root and
// whose working directory is cwd (an absolute path, which must be a
// directory).
func (ns *MountNamespace) NewFSContext(cwd string, umask uint32) (*FSContext, error) {
	ctx := BackgroundContext(auth.NewRootCredentials())
	r := &resolver{ctx: ctx, ns: ns, root: ns.Root()}
	if cwd == "" {
		cwd = "/"
	}
	l, err := r.resolve(r.root, cwd, true)
	if err != nil {
		return nil, fmt.Errorf("working directory %q: %w", cwd, err)
	}
	a, err := cachedStat(ctx, l.Dentry.inode)
	if err != nil {
		return nil, fmt.Errorf("working directory %q: %w", cwd, err)
	}
	if a.Type() != linux.S_IFDIR {
		return nil, fmt.Errorf("working directory %q: %w", cwd, linux.ENOTDIR)
	}
	return &FSContext{ns: ns, root: r.root, cwd: l, umask: umask & 0o777}, nil
}
