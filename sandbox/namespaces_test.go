package sandbox

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func nsSpec(nss ...specs.LinuxNamespace) *specs.Spec {
	return &specs.Spec{Linux: &specs.Linux{Namespaces: nss}}
}

func TestSandboxNamespaces(t *testing.T) {
	flags, joins, err := sandboxNamespaces(nsSpec(
		specs.LinuxNamespace{Type: specs.UTSNamespace},
		specs.LinuxNamespace{Type: specs.IPCNamespace, Path: "/proc/self/ns/ipc"},
		specs.LinuxNamespace{Type: specs.PIDNamespace},
		specs.LinuxNamespace{Type: specs.CgroupNamespace},
	))
	if err != nil {
		t.Fatal(err)
	}
	want := uintptr(unix.CLONE_NEWNS | unix.CLONE_NEWPID | unix.CLONE_NEWUTS | unix.CLONE_NEWCGROUP)
	if flags != want {
		t.Errorf("flags %#x, want %#x", flags, want)
	}
	if len(joins) != 1 || joins[0].flag != unix.CLONE_NEWIPC || joins[0].path != "/proc/self/ns/ipc" {
		t.Errorf("joins %+v", joins)
	}
	// Nothing listed: the host's uts and ipc.
	if flags, _, _ := sandboxNamespaces(nsSpec()); flags != unix.CLONE_NEWNS|unix.CLONE_NEWPID {
		t.Errorf("flags without namespaces %#x", flags)
	}
	for _, tc := range []struct {
		ns   specs.LinuxNamespace
		want string
	}{
		{specs.LinuxNamespace{Type: specs.UserNamespace}, "not supported"},
		{specs.LinuxNamespace{Type: specs.UTSNamespace, Path: "/proc/self/ns/ipc"}, "is a ipc namespace"},
		{specs.LinuxNamespace{Type: specs.UTSNamespace, Path: "/nonexistent"}, "opening"},
		{specs.LinuxNamespace{Type: "bogus"}, "unknown namespace type"},
		{specs.LinuxNamespace{Type: specs.IPCNamespace}, "needs a uts namespace"},
	} {
		spec := nsSpec(tc.ns)
		spec.Hostname = "h"
		if _, _, err := sandboxNamespaces(spec); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.ns, err, tc.want)
		}
	}
}

func TestStartJoined(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	own, err := os.Readlink("/proc/self/ns/uts")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/bin/sh", "-c", "readlink /proc/self/ns/uts")
	var out strings.Builder
	cmd.Stdout = &out
	if err := startJoined(cmd, []nsJoin{{unix.CLONE_NEWUTS, "/proc/self/ns/uts"}}, netPlacement{}); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(out.String()); got != own {
		t.Errorf("child uts %q, want %q", got, own)
	}
}
