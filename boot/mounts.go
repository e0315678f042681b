package boot

import (
	"fmt"
	"path"

	"bulwark.dev/pkg/specutils"

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
)

var kindNames = []string{"gofer", "proc", "dev", "tmpfs", "skip", "sysfs"}

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
}

// skipReasons are spec mount types that are not served yet, mounted over
// nothing: the directory (if any) of the underlying filesystem shows.
var skipReasons = map[string]string{
	"devpts":  "devpts is not supported yet (no terminals)",
	"mqueue":  "POSIX message queues are not supported yet",
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
			next++
		case m.Type == "proc":
			p.Kind = MountProc
		case m.Type == "sysfs":
			p.Kind = MountSys
		case m.Type == "tmpfs" && p.Destination == "/dev":
			p.Kind = MountDev
		case m.Type == "tmpfs":
			p.Kind = MountTmpfs
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
