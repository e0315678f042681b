package boot

import (
	"fmt"
	"log"

	"bulwark.dev/pkg/kernel"
	"bulwark.dev/pkg/vfs"
	"bulwark.dev/runsc/config"
)

// fsMakers builds each kind of filesystem the mount plan names. A nil
// entry is a filesystem this build does not have yet: buildMounts then
// degrades (and logs it) where it can.
type fsMakers struct {
	gofer   func(fd int, exclusive bool) (vfs.Filesystem, error) // over one gofer connection; see fileAccess
	overlay func(lower vfs.Filesystem) (vfs.Filesystem, error)   // tmpfs upper over lower
	tmpfs   func(options []string) (vfs.Filesystem, error)
	dev     func() (vfs.Filesystem, error)
	proc    func(k *kernel.Kernel, ns *vfs.MountNamespace, sysctl map[string]string) (vfs.Filesystem, error)
	sys     func(k *kernel.Kernel) (vfs.Filesystem, error)
	host    func(fd int) (*vfs.File, error) // a host fd imported as a file (stdio)
	devpts  func(options []string) (vfs.Filesystem, error)
	mqueue  func() (vfs.Filesystem, error)

	access fileAccess // which gofer filesystems are exclusive
}

// makers are the filesystems of this build, filled in by fs_*.go files.
var makers fsMakers

// fileAccess says which gofer filesystems are exclusive: only the sandbox
// changes their files, so the gofer filesystem caches what it learns of
// them. The others are shared: the host may change them at any time.
type fileAccess struct {
	root   bool // --file-access=exclusive
	mounts bool // --file-access-mounts=exclusive (bind mounts)
}

// fileAccessOf returns the policy conf's flags choose (nil: the flags'
// defaults, an exclusive root and shared bind mounts). A policy left
// empty is shared, the one that is always correct.
func fileAccessOf(conf *config.Config) fileAccess {
	if conf == nil {
		return fileAccess{root: true}
	}
	return fileAccess{
		root:   conf.FileAccess == config.FileAccessExclusive,
		mounts: conf.FileAccessMounts == config.FileAccessExclusive,
	}
}

// buildMounts builds the sandbox's mount tree from the plan, with the
// file access policies of conf's flags (nil: their defaults). The gofer
// connections are ioFDs, indexed by PlannedMount.GoferIndex.
func buildMounts(k *kernel.Kernel, plan []PlannedMount, ioFDs []int, conf *config.Config, logger *log.Logger) (*vfs.MountNamespace, error) {
	m := makers
	m.access = fileAccessOf(conf)
	return m.build(k, plan, ioFDs, logger)
}

func (m fsMakers) build(k *kernel.Kernel, plan []PlannedMount, ioFDs []int, logger *log.Logger) (*vfs.MountNamespace, error) {
	if len(plan) == 0 || plan[0].Destination != "/" || plan[0].Kind != MountGofer {
		return nil, fmt.Errorf("the mount plan does not start with the root")
	}
	root, err := m.goferFS(plan[0], ioFDs, m.access.root)
	if err != nil {
		return nil, fmt.Errorf("root filesystem: %w", err)
	}
	if plan[0].Overlay {
		if m.overlay == nil {
			logger.Printf("mount /: the overlay filesystem is not available yet; the root is the gofer filesystem itself")
		} else if root, err = m.overlay(root); err != nil {
			return nil, fmt.Errorf("root overlay: %w", err)
		}
	}
	ns, err := vfs.NewMountNamespace(root, vfs.MountOptions{ReadOnly: plan[0].ReadOnly, Source: plan[0].Source})
	if err != nil {
		return nil, err
	}
	for _, p := range plan[1:] {
		fs, skip, err := m.mountFS(k, ns, p, ioFDs, m.access.mounts)
		if err != nil {
			return nil, fmt.Errorf("mount %s (%s): %w", p.Destination, p.Kind, err)
		}
		if skip != "" {
			logger.Printf("skipping mount %s (%s): %s", p.Destination, p.Source, skip)
			continue
		}
		flags, data := mountFlags(p.Options)
		opts := vfs.MountOptions{ReadOnly: p.ReadOnly, Source: p.Source, Flags: flags, Data: data, Root: p.Root}
		if err := ns.Mount(p.Destination, fs, opts); err != nil {
			return nil, err
		}
		logger.Printf("mounted %s at %s", fs.Name(), p.Destination)
	}
	return ns, nil
}

// mountFS builds the filesystem of one planned mount, or says why the
// mount is skipped; exclusive is the policy of a gofer mount.
func (m fsMakers) mountFS(k *kernel.Kernel, ns *vfs.MountNamespace, p PlannedMount, ioFDs []int, exclusive bool) (vfs.Filesystem, string, error) {
	var fs vfs.Filesystem
	var err error
	switch p.Kind {
	case MountGofer:
		fs, err = m.goferFS(p, ioFDs, exclusive)
	case MountProc:
		if m.proc == nil {
			return nil, "the proc filesystem is not available yet", nil
		}
		fs, err = m.proc(k, ns, p.Sysctl)
	case MountSys:
		if m.sys == nil {
			return nil, "the sysfs filesystem is not available yet", nil
		}
		fs, err = m.sys(k)
	case MountDev:
		switch {
		case m.dev != nil:
			fs, err = m.dev()
		case m.tmpfs != nil:
			fs, err = m.tmpfs(p.Options)
		default:
			return nil, "neither the dev nor the tmpfs filesystem is available yet", nil
		}
	case MountDevpts:
		if m.devpts == nil {
			return nil, "the devpts filesystem is not available yet", nil
		}
		fs, err = m.devpts(p.Options)
	case MountMqueue:
		if m.mqueue == nil {
			return nil, "the mqueue filesystem is not available yet", nil
		}
		fs, err = m.mqueue()
	case MountTmpfs:
		if m.tmpfs == nil {
			return nil, "the tmpfs filesystem is not available yet", nil
		}
		fs, err = m.tmpfs(p.Options)
	default:
		return nil, p.Reason, nil
	}
	return fs, "", err
}

// goferFS makes the gofer filesystem of a planned gofer mount.
func (m fsMakers) goferFS(p PlannedMount, ioFDs []int, exclusive bool) (vfs.Filesystem, error) {
	if p.GoferIndex < 0 || p.GoferIndex >= len(ioFDs) {
		return nil, fmt.Errorf("gofer connection %d missing (%d io fds)", p.GoferIndex, len(ioFDs))
	}
	if m.gofer == nil {
		return nil, fmt.Errorf("the gofer filesystem is not available yet")
	}
	return m.gofer(ioFDs[p.GoferIndex], exclusive)
}
