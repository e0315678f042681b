package boot

import (
	"fmt"
	"strconv"
	"strings"

	"bulwark.dev/pkg/fs/dev"
	"bulwark.dev/pkg/fs/devpts"
	goferfs "bulwark.dev/pkg/fs/gofer"
	"bulwark.dev/pkg/fs/host"
	"bulwark.dev/pkg/fs/mqueue"
	"bulwark.dev/pkg/fs/overlay"
	"bulwark.dev/pkg/fs/proc"
	sysfs "bulwark.dev/pkg/fs/sys"
	"bulwark.dev/pkg/fs/tmpfs"
	"bulwark.dev/pkg/fsproto"
	"bulwark.dev/pkg/kernel"
	"bulwark.dev/pkg/vfs"
)

func init() {
	makers.gofer = func(fd int, exclusive bool) (vfs.Filesystem, error) {
		c, err := fsproto.NewClient(fd)
		if err != nil {
			return nil, fmt.Errorf("gofer connection fd %d: %w", fd, err)
		}
		fs, err := goferfs.New(c, goferfs.Options{Exclusive: exclusive})
		if err != nil {
			c.Close()
			return nil, err
		}
		return fs, nil
	}
	makers.overlay = func(lower vfs.Filesystem) (vfs.Filesystem, error) {
		return overlay.New(tmpfs.New(tmpfs.Options{Mode: 0o755}), lower)
	}
	makers.proc = func(k *kernel.Kernel, _ *vfs.MountNamespace, sysctl map[string]string) (vfs.Filesystem, error) {
		return proc.NewWithSysctls(k, sysctl), nil
	}
	makers.sys = func(k *kernel.Kernel) (vfs.Filesystem, error) {
		n := 1
		if k != nil {
			n = k.Config().NumCPU
		}
		return sysfs.New(n), nil
	}
	makers.tmpfs = func(options []string) (vfs.Filesystem, error) {
		opts, err := tmpfsOptions(options)
		if err != nil {
			return nil, err
		}
		return tmpfs.New(opts), nil
	}
	makers.dev = func() (vfs.Filesystem, error) { return dev.New() }
	makers.host = host.NewFile
	makers.devpts = func(options []string) (vfs.Filesystem, error) {
		mode, err := octalOption(options, "ptmxmode")
		if err != nil {
			return nil, err
		}
		return devpts.New(mode, sandboxPTYs)
	}
	makers.mqueue = func() (vfs.Filesystem, error) { return mqueue.New(), nil }
}

// tmpfsOptions reads the mode=, uid= and gid= options of a tmpfs mount;
// others (size=, nr_inodes=, the generic nosuid, ...) have no effect.
func tmpfsOptions(options []string) (tmpfs.Options, error) {
	var o tmpfs.Options
	for _, opt := range options {
		k, v, ok := strings.Cut(opt, "=")
		if !ok {
			continue
		}
		var base, bits int
		var dst *uint32
		switch k {
		case "mode":
			base, bits, dst = 8, 12, &o.Mode
		case "uid":
			base, bits, dst = 10, 32, &o.UID
		case "gid":
			base, bits, dst = 10, 32, &o.GID
		default:
			continue
		}
		n, err := strconv.ParseUint(v, base, bits)
		if err != nil {
			return tmpfs.Options{}, fmt.Errorf("tmpfs option %q: %w", opt, err)
		}
		*dst = uint32(n)
	}
	return o, nil
}

// octalOption returns the octal value of option key= (0 when absent).
func octalOption(options []string, key string) (uint32, error) {
	var v uint32
	for _, opt := range options {
		k, val, ok := strings.Cut(opt, "=")
		if !ok || k != key {
			continue
		}
		n, err := strconv.ParseUint(val, 8, 12)
		if err != nil {
			return 0, fmt.Errorf("option %q: %w", opt, err)
		}
		v = uint32(n)
	}
	return v, nil
}
