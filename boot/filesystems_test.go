package boot

import (
	"bytes"
	"fmt"
	"io"
	"log"
	"strings"
	"testing"

	"bulwark.dev/pkg/fs/tmpfs"
	"bulwark.dev/pkg/kernel"
	"bulwark.dev/pkg/specutils"
	"bulwark.dev/pkg/vfs"
	"bulwark.dev/runsc/config"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// fakeMakers serves every gofer connection with a tmpfs named after its
// fd, so tests can see which connection went where.
func fakeMakers(goferFDs *[]int) fsMakers {
	m := makers
	m.gofer = func(fd int, _ bool) (vfs.Filesystem, error) {
		*goferFDs = append(*goferFDs, fd)
		return tmpfs.New(tmpfs.Options{Mode: 0o755}), nil
	}
	m.proc = func(_ *kernel.Kernel, _ *vfs.MountNamespace, _ map[string]string) (vfs.Filesystem, error) {
		return vfs.NewSyntheticFS("proc", 0x9fa0, vfs.NewStaticDir(0o555, nil)), nil
	}
	return m
}

func mountTable(ns *vfs.MountNamespace) string {
	var rows []string
	for _, mi := range ns.Mounts() {
		ro := ""
		if mi.ReadOnly {
			ro = ",ro"
		}
		rows = append(rows, fmt.Sprintf("%s:%s%s", mi.Target, mi.Type, ro))
	}
	return strings.Join(rows, " ")
}

func TestBuildMounts(t *testing.T) {
	spec := specutils.DefaultSpec()
	spec.Root.Readonly = false
	spec.Mounts = append(spec.Mounts,
		specs.Mount{Destination: "/data", Type: "bind", Source: "/srv", Options: []string{"ro"}},
		specs.Mount{Destination: "/tmp", Type: "tmpfs", Options: []string{"mode=1777"}},
		specs.Mount{Destination: "/more/data", Type: "bind", Source: "/srv2"},
	)
	plan, err := PlanMounts(spec, false)
	if err != nil {
		t.Fatal(err)
	}
	var fds []int
	var logs bytes.Buffer
	ns, err := fakeMakers(&fds).build(nil, plan, []int{10, 11, 12}, log.New(&logs, "", 0))
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	if fmt.Sprint(fds) != "[10 11 12]" {
		t.Errorf("gofer connections used in order %v", fds)
	}
	want := "/:tmpfs /proc:proc /dev:tmpfs /dev/pts:devpts /dev/shm:tmpfs /dev/mqueue:mqueue /sys:sysfs,ro " +
		"/data:tmpfs,ro /tmp:tmpfs /more/data:tmpfs"
	if got := mountTable(ns); got != want {
		t.Errorf("mounts:\n got %s\nwant %s", got, want)
	}
	info := map[string]vfs.MountInfo{}
	for _, mi := range ns.Mounts() {
		info[mi.Target] = mi
	}
	if pts := info["/dev/pts"]; pts.Options != "rw,nosuid,noexec" || pts.Data != "ptmxmode=0666,mode=0620,gid=5" {
		t.Errorf("/dev/pts options %q data %q", pts.Options, pts.Data)
	}
	if d := info["/more/data"]; d.Root != "/srv2" {
		t.Errorf("bind mount root %q, want /srv2", d.Root)
	}
	for _, skipped := range []string{"/sys/fs/cgroup"} {
		if !strings.Contains(logs.String(), "skipping mount "+skipped) {
			t.Errorf("no log line for skipping %s:\n%s", skipped, logs.String())
		}
	}
}

func TestBuildMountsDegrades(t *testing.T) {
	spec := &specs.Spec{Root: &specs.Root{Path: "r"}, Mounts: []specs.Mount{
		{Destination: "/proc", Type: "proc"},
		{Destination: "/tmp", Type: "tmpfs"},
	}}
	plan, err := PlanMounts(spec, true)
	if err != nil {
		t.Fatal(err)
	}
	var fds []int
	m := fakeMakers(&fds)
	m.overlay, m.proc, m.tmpfs = nil, nil, nil
	var logs bytes.Buffer
	ns, err := m.build(nil, plan, []int{3}, log.New(&logs, "", 0))
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	if got := mountTable(ns); got != "/:tmpfs" {
		t.Errorf("mounts: %s", got)
	}
	for _, want := range []string{"overlay filesystem is not available", "skipping mount /proc", "skipping mount /tmp"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}

	// Without a gofer filesystem there is no root: that is fatal.
	m.gofer = nil
	if _, err := m.build(nil, plan, []int{3}, log.New(&logs, "", 0)); err == nil {
		t.Error("build without a gofer filesystem succeeded")
	}
	// A plan needing more connections than given fails cleanly.
	m = fakeMakers(&fds)
	bind := &specs.Spec{Root: &specs.Root{Path: "r"}, Mounts: []specs.Mount{{Destination: "/b", Type: "bind"}}}
	plan, _ = PlanMounts(bind, false)
	if _, err := m.build(nil, plan, []int{3}, log.New(&logs, "", 0)); err == nil {
		t.Error("build with a missing gofer connection succeeded")
	}
}

// TestBuildMountsFileAccess checks that the root gets --file-access's
// policy and bind mounts --file-access-mounts'.
func TestBuildMountsFileAccess(t *testing.T) {
	spec := &specs.Spec{Root: &specs.Root{Path: "r"}, Mounts: []specs.Mount{
		{Destination: "/a", Type: "bind", Source: "/srv"},
		{Destination: "/b", Type: "bind", Source: "/srv2"},
	}}
	plan, err := PlanMounts(spec, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		conf *config.Config
		want string // exclusive for the root, /a, /b
	}{
		{nil, "[true false false]"},
		{&config.Config{FileAccess: "exclusive", FileAccessMounts: "shared"}, "[true false false]"},
		{&config.Config{FileAccess: "shared", FileAccessMounts: "exclusive"}, "[false true true]"},
		{&config.Config{}, "[false false false]"},
	} {
		var fds []int
		var got []bool
		m := fakeMakers(&fds)
		fake := m.gofer
		m.gofer = func(fd int, exclusive bool) (vfs.Filesystem, error) {
			got = append(got, exclusive)
			return fake(fd, exclusive)
		}
		m.access = fileAccessOf(tc.conf)
		if _, err := m.build(nil, plan, []int{3, 4, 5}, log.New(io.Discard, "", 0)); err != nil {
			t.Fatalf("build: %v", err)
		}
		if fmt.Sprint(got) != tc.want {
			t.Errorf("conf %+v: exclusive %v, want %s", tc.conf, got, tc.want)
		}
	}
}

func TestTmpfsOptions(t *testing.T) {
	o, err := tmpfsOptions([]string{"nosuid", "mode=1777", "size=65536k", "uid=5", "gid=6"})
	if err != nil || o.Mode != 0o1777 || o.UID != 5 || o.GID != 6 {
		t.Errorf("got %+v, %v", o, err)
	}
	for _, bad := range []string{"mode=99", "uid=-1", "mode=777777"} {
		if _, err := tmpfsOptions([]string{bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
