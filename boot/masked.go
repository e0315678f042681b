package boot

import (
	"errors"
	"fmt"
	"log"
	"path"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/kernel/auth"
	"bulwark.dev/pkg/vfs"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The spec asks for three changes to the container's tree once its mounts
// are in place, applied here in runc's order:
//
//   - linux.devices: device nodes and FIFOs created (with their parents)
//     where nothing exists yet, usually in /dev;
//   - linux.readonlyPaths: each existing path bound over itself read-only;
//   - linux.maskedPaths: an existing directory hidden under an empty
//     read-only tmpfs, any other file under the null device.
//
// Paths that do not exist are skipped, as runc does. A path inside a
// directory whose entries are computed on each lookup (/proc, /sys) cannot
// carry a mount in this VFS; it is logged and skipped.

// subtreeFS is a filesystem seen from one of its inodes: what a bind mount
// of a path (or of a single file) mounts.
type subtreeFS struct {
	vfs.Filesystem
	root vfs.Inode
}

// Root implements vfs.Filesystem.
func (s subtreeFS) Root() vfs.Inode { return s.root }

// treeEditor applies the spec's path rules to one mount namespace with
// root's credentials.
type treeEditor struct {
	ns     *vfs.MountNamespace
	fsctx  *vfs.FSContext
	ctx    vfs.Context
	logger *log.Logger
	null   vfs.Filesystem // the null device as a filesystem root; made on first use
}

// applyPathRules creates spec.Linux.Devices and applies ReadonlyPaths and
// MaskedPaths to ns (see above).
func applyPathRules(ns *vfs.MountNamespace, spec *specs.Spec, logger *log.Logger) error {
	if spec.Linux == nil {
		return nil
	}
	fsctx, err := ns.NewFSContext("/", 0)
	if err != nil {
		return err
	}
	e := &treeEditor{ns: ns, fsctx: fsctx, ctx: vfs.BackgroundContext(auth.NewRootCredentials()), logger: logger}
	for i, d := range spec.Linux.Devices {
		if err := e.device(d); err != nil {
			return fmt.Errorf("linux.devices[%d] %q: %w", i, d.Path, err)
		}
	}
	for i, p := range spec.Linux.ReadonlyPaths {
		if err := e.cover(p, e.readOnly); err != nil {
			return fmt.Errorf("linux.readonlyPaths[%d] %q: %w", i, p, err)
		}
	}
	for i, p := range spec.Linux.MaskedPaths {
		if err := e.cover(p, e.mask); err != nil {
			return fmt.Errorf("linux.maskedPaths[%d] %q: %w", i, p, err)
		}
	}
	return nil
}

// deviceTypes maps the spec's device types to S_IF* bits ("u" is an
// unbuffered character device).
var deviceTypes = map[string]uint32{"c": linux.S_IFCHR, "u": linux.S_IFCHR, "b": linux.S_IFBLK, "p": linux.S_IFIFO}

// defaultDeviceMode is a device's permission bits when the spec has none.
const defaultDeviceMode = 0o666

// device creates the node d unless something already exists at its path
// (the sandbox's own /dev/null and friends stay).
func (e *treeEditor) device(d specs.LinuxDevice) error {
	t, ok := deviceTypes[d.Type]
	if !ok {
		return fmt.Errorf("unknown device type %q", d.Type)
	}
	if !path.IsAbs(d.Path) {
		return errors.New("the path must be absolute")
	}
	if _, err := vfs.StatAt(e.ctx, e.fsctx, nil, d.Path, linux.AT_SYMLINK_NOFOLLOW); err == nil {
		return nil
	}
	if err := e.mkdirAll(path.Dir(d.Path)); err != nil {
		return err
	}
	perm := uint32(defaultDeviceMode)
	if d.FileMode != nil {
		perm = uint32(d.FileMode.Perm())
	}
	var rdev uint32
	if t != linux.S_IFIFO {
		rdev = vfs.MakeDev(uint32(d.Major), uint32(d.Minor))
	}
	if err := vfs.MknodAt(e.ctx, e.fsctx, nil, d.Path, t|perm, rdev); err != nil {
		return fmt.Errorf("creating the node: %w", err)
	}
	var req vfs.SetAttrRequest
	if d.UID != nil {
		req.Mask, req.UID = req.Mask|vfs.SetUID, *d.UID
	}
	if d.GID != nil {
		req.Mask, req.GID = req.Mask|vfs.SetGID, *d.GID
	}
	if req.Mask == 0 {
		return nil
	}
	if err := vfs.SetAttrAt(e.ctx, e.fsctx, nil, d.Path, linux.AT_SYMLINK_NOFOLLOW, req); err != nil {
		return fmt.Errorf("setting the owner: %w", err)
	}
	return nil
}

// mkdirAll creates dir and its missing parents (mode 0755).
func (e *treeEditor) mkdirAll(dir string) error {
	if dir == "/" {
		return nil
	}
	if _, err := vfs.StatAt(e.ctx, e.fsctx, nil, dir, 0); err == nil {
		return nil
	}
	if err := e.mkdirAll(path.Dir(dir)); err != nil {
		return err
	}
	if err := vfs.MkdirAt(e.ctx, e.fsctx, nil, dir, 0o755); err != nil && !errors.Is(err, linux.EEXIST) {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	return nil
}

// cover resolves p (following symlinks) and, when it exists and can carry
// a mount, mounts what over(p, its location) returns.
func (e *treeEditor) cover(p string, over func(l vfs.Location) (vfs.Filesystem, vfs.MountOptions, error)) error {
	if !path.IsAbs(p) {
		return errors.New("the path must be absolute")
	}
	l, err := e.locate(p)
	if errors.Is(err, linux.ENOENT) {
		return nil
	}
	if err != nil {
		return err
	}
	// A directory that computes its entries gives a new dentry on every
	// lookup, so a mount on one would never be found again.
	if again, err := e.locate(p); err != nil || again.Dentry != l.Dentry {
		e.logger.Printf("not covering %s: it is inside a directory that cannot carry mounts (such as /proc)", p)
		return nil
	}
	fs, opts, err := over(l)
	if err != nil {
		return err
	}
	return e.ns.Mount(path.Clean(p), fs, opts)
}

// locate returns where p leads.
func (e *treeEditor) locate(p string) (vfs.Location, error) {
	f, err := vfs.OpenAt(e.ctx, e.fsctx, nil, p, linux.O_PATH, 0)
	if err != nil {
		return vfs.Location{}, err
	}
	defer f.DecRef()
	return f.Location(), nil
}

// readOnly binds l over itself, read-only.
func (e *treeEditor) readOnly(l vfs.Location) (vfs.Filesystem, vfs.MountOptions, error) {
	fs := l.Mount.Filesystem()
	return subtreeFS{fs, l.Dentry.Inode()}, vfs.MountOptions{ReadOnly: true, Source: fs.Name()}, nil
}

// mask hides l: a directory under an empty read-only tmpfs, anything else
// under the null device.
func (e *treeEditor) mask(l vfs.Location) (vfs.Filesystem, vfs.MountOptions, error) {
	a, err := l.Dentry.Inode().Stat(e.ctx)
	if err != nil {
		return nil, vfs.MountOptions{}, err
	}
	if a.Type() == linux.S_IFDIR {
		if makers.tmpfs == nil {
			return nil, vfs.MountOptions{}, errors.New("the tmpfs filesystem is not available")
		}
		fs, err := makers.tmpfs(nil)
		return fs, vfs.MountOptions{ReadOnly: true, Source: "tmpfs"}, err
	}
	null, err := e.nullFS()
	return null, vfs.MountOptions{Source: null.Name()}, err
}

// nullFS returns the null device of a /dev filesystem as a filesystem
// root, the file a masked file is bound to.
func (e *treeEditor) nullFS() (vfs.Filesystem, error) {
	if e.null != nil {
		return e.null, nil
	}
	if makers.dev == nil {
		return nil, errors.New("the dev filesystem is not available")
	}
	dev, err := makers.dev()
	if err != nil {
		return nil, err
	}
	dir, ok := dev.Root().(vfs.DirInode)
	if !ok {
		return nil, errors.New("the dev filesystem's root is not a directory")
	}
	in, err := dir.Lookup(e.ctx, "null")
	if err != nil {
		return nil, fmt.Errorf("looking up null in the dev filesystem: %w", err)
	}
	e.null = subtreeFS{dev, in}
	return e.null, nil
}
