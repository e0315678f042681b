package boot

import (
	"fmt"
	"strings"
	"testing"

	"bulwark.dev/pkg/specutils"
	"bulwark.dev/sandbox"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// planString renders a plan compactly: dest=kind[#gofer][,ro][,overlay].
func planString(plan []PlannedMount) string {
	var parts []string
	for _, p := range plan {
		s := p.Destination + "=" + p.Kind.String()
		if p.Kind == MountGofer {
			s += fmt.Sprintf("#%d", p.GoferIndex)
		}
		if p.ReadOnly {
			s += ",ro"
		}
		if p.Overlay {
			s += ",overlay"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

func TestPlanMountsRuncDefault(t *testing.T) {
	spec := specutils.DefaultSpec()
	plan, err := PlanMounts(spec, true)
	if err != nil {
		t.Fatal(err)
	}
	// runc's default root is read-only, so it gets no overlay.
	want := "/=gofer#0,ro /proc=proc /dev=dev /dev/pts=devpts /dev/shm=tmpfs " +
		"/dev/mqueue=mqueue /sys=sysfs,ro /sys/fs/cgroup=skip,ro"
	if got := planString(plan); got != want {
		t.Errorf("plan:\n got %s\nwant %s", got, want)
	}
	for _, p := range plan {
		if p.Kind == MountSkip && p.Reason == "" {
			t.Errorf("%s skipped without a reason", p.Destination)
		}
	}
	if plan[2].Source != "tmpfs" || len(plan[2].Options) == 0 {
		t.Errorf("/dev keeps its source and options: %+v", plan[2])
	}
}

func TestPlanMountsBindOrder(t *testing.T) {
	spec := &specs.Spec{
		Root: &specs.Root{Path: "rootfs", Readonly: true},
		Mounts: []specs.Mount{
			{Destination: "/data/", Type: "bind", Source: "/srv/data"},
			{Destination: "/tmp", Type: "tmpfs"},
			{Destination: "/etc/hosts", Type: "none", Source: "/h", Options: []string{"rbind", "ro"}},
			{Destination: "/weird", Type: "9p"},
			{Destination: "/conf", Source: "/c", Options: []string{"bind"}},
			{Destination: "/run/../var/run", Type: "tmpfs", Options: []string{"ro", "rw"}},
		},
	}
	plan, err := PlanMounts(spec, true)
	if err != nil {
		t.Fatal(err)
	}
	// A read-only root gets no overlay; bind mounts are numbered in spec
	// order after the root, whatever their type field says.
	want := "/=gofer#0,ro /data=gofer#1 /tmp=tmpfs /etc/hosts=gofer#2,ro /weird=skip /conf=gofer#3 /var/run=tmpfs"
	if got := planString(plan); got != want {
		t.Errorf("plan:\n got %s\nwant %s", got, want)
	}
	if !strings.Contains(plan[4].Reason, `"9p"`) {
		t.Errorf("unknown type reason: %q", plan[4].Reason)
	}
	if plan[1].Source != "/srv/data" {
		t.Errorf("bind source %q", plan[1].Source)
	}
	// The launcher makes exactly as many gofer connections.
	if n, m := GoferConnections(plan), sandbox.GoferMountCount(spec); n != 4 || m != n {
		t.Errorf("GoferConnections = %d, sandbox.GoferMountCount = %d, want 4", n, m)
	}
	rw := &specs.Spec{Root: &specs.Root{Path: "r"}}
	if p, _ := PlanMounts(rw, false); planString(p) != "/=gofer#0" {
		t.Errorf("without --overlay: %s", planString(p))
	}
	if p, _ := PlanMounts(rw, true); planString(p) != "/=gofer#0,overlay" {
		t.Errorf("with --overlay: %s", planString(p))
	}
}

func TestPlanMountsErrors(t *testing.T) {
	for name, spec := range map[string]*specs.Spec{
		"no root":  {},
		"relative": {Root: &specs.Root{Path: "r"}, Mounts: []specs.Mount{{Destination: "tmp", Type: "tmpfs"}}},
		"over /":   {Root: &specs.Root{Path: "r"}, Mounts: []specs.Mount{{Destination: "/", Type: "tmpfs"}}},
	} {
		if _, err := PlanMounts(spec, false); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
