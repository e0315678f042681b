package boot

import (
	"fmt"
	"path"
	"strings"

	"bulwark.dev/pkg/specutils"
	"bulwark.dev/pkg/vfs"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// MountKind is the filesystem a planned mount gets.
type MountKind int

// Mount kinds.
const (
	// MountGofer is a gofer filesystem over one gofer connection: the root
	// and every bind mount.
	MountGofer MountKind = iota
	// MountProc is the proc filesystem.
	MountProc
	// MountDev is the synthetic /dev (null, zero, urandom, ...), used for
	// the spec's tmpfs at /dev.
	MountDev
	// MountTmpfs is an in-memory filesystem.
	MountTmpfs
	// MountSkip is a spec mount not supported yet; Reason says why.
	MountSkip
	// MountSys is the minimal sysfs.
	MountSys
	// MountDevpts is the minimal devpts (for /dev/pts).
	MountDevpts
	// MountMqueue is the minimal mqueue filesystem (for /dev/mqueue).
	MountMqueue
)

var kindNames = []string{"gofer", "proc", "dev", "tmpfs", "skip", "sysfs", "devpts", "mqueue"}

func (k MountKind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("MountKind(%d)", int(k))
}

// PlannedMount is one mount of the sandbox's mount tree.
type PlannedMount struct {
	Destination string // absolute, clean; "/" for the root
	Kind        MountKind
	GoferIndex  int      // MountGofer: index of its connection in --io-fds
	ReadOnly    bool     // "ro" option, or root.readonly
	Overlay     bool     // root only: an in-memory upper layer over the gofer
	Source      string   // shown in /proc/mounts
	Options     []string // the spec's options (tmpfs size=, mode=, ...)
	Reason      string   // MountSkip: why
	// Sysctl are the spec's sysctls, shown by a proc mount.
	Sysctl map[string]string
	// Root is a bind mount's source, shown as the mount's root in
	// mountinfo; "" for other mounts.
	Root string
}

// mountFlagOptions are the spec options that set (true) or clear (false)
// a per-mount flag.
var mountFlagOptions = map[string]struct {
	flag vfs.MountFlags
	set  bool
}{
	"nosuid": {vfs.MountNoSuid, true}, "suid": {vfs.MountNoSuid, false},
	"nodev": {vfs.MountNoDev, true}, "dev": {vfs.MountNoDev, false},
	"noexec": {vfs.MountNoExec, true}, "exec": {vfs.MountNoExec, false},
	"noatime": {vfs.MountNoAtime, true}, "atime": {vfs.MountNoAtime, false},
	"nodiratime": {vfs.MountNoDiratime, true}, "diratime": {vfs.MountNoDiratime, false},
	"strictatime": {vfs.MountStrictAtime, true}, "relatime": {vfs.MountStrictAtime | vfs.MountNoAtime, false},
}

// mountFlags returns the per-mount flags of spec mount options and the
// filesystem's own key=value options, comma-separated.
func mountFlags(options []string) (vfs.MountFlags, string) {
	var flags vfs.MountFlags
	var data []string
	for _, o := range options {
		if f, ok := mountFlagOptions[o]; ok {
			if f.set {
				flags |= f.flag
			} else {
				flags &^= f.flag
			}
			continue
		}
		if strings.Contains(o, "=") {
			data = append(data, o)
		}
	}
	return flags, strings.Join(data, ",")
}

// skipReasons are spec mount types that are not served yet, mounted over
// nothing: the directory (if any) of the underlying filesystem shows.
var skipReasons = map[string]string{
	"cgroup":  "cgroupfs is not supported yet",
	"cgroup2": "cgroupfs is not supported yet",
}

// PlanMounts turns the spec into the ordered list of mounts to build: the
// root first, then spec.Mounts in order. Gofer connections are numbered in
// the same order the launcher creates them: the root is 0, then each bind
// mount in spec order.
func PlanMounts(spec *specs.Spec, overlay bool) ([]PlannedMount, error) {
	if spec.Root == nil {
		return nil, fmt.Errorf("spec has no root")
	}
	ro := spec.Root.Readonly
	plan := []PlannedMount{{
		Destination: "/", Kind: MountGofer, GoferIndex: 0,
		ReadOnly: ro, Overlay: overlay && !ro, Source: "rootfs",
	}}
	next := 1
	for i, m := range spec.Mounts {
		if !path.IsAbs(m.Destination) {
			return nil, fmt.Errorf("mounts[%d]: destination %q is not absolute", i, m.Destination)
		}
		p := PlannedMount{
			Destination: path.Clean(m.Destination),
			ReadOnly:    specutils.IsReadOnlyMount(m.Options),
			Source:      m.Source,
			Options:     m.Options,
		}
		if p.Destination == "/" {
			return nil, fmt.Errorf("mounts[%d]: mounting over / is not supported", i)
		}
		switch {
		case specutils.IsBindMount(m):
			p.Kind, p.GoferIndex = MountGofer, next
			p.Root = path.Clean(m.Source)
			next++
		case m.Type == "proc":
			p.Kind = MountProc
			if spec.Linux != nil {
				p.Sysctl = spec.Linux.Sysctl
			}
		case m.Type == "sysfs":
			p.Kind = MountSys
		case m.Type == "tmpfs" && p.Destination == "/dev":
			p.Kind = MountDev
		case m.Type == "tmpfs":
			p.Kind = MountTmpfs
		case m.Type == "devpts":
			p.Kind = MountDevpts
		case m.Type == "mqueue":
			p.Kind = MountMqueue
		default:
			p.Kind, p.Reason = MountSkip, skipReasons[m.Type]
			if p.Reason == "" {
				p.Reason = fmt.Sprintf("filesystem type %q is not supported", m.Type)
			}
		}
		if p.Source == "" {
			p.Source = m.Type
		}
		plan = append(plan, p)
	}
	return plan, nil
}

// GoferConnections is how many gofer connections a plan uses.
func GoferConnections(plan []PlannedMount) int {
	n := 0
	for _, p := range plan {
		if p.Kind == MountGofer {
			n++
		}
	}
	return n
}
