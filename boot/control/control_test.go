package control

import (
	"os"
	"path/filepath"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestExitFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "exit")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, ok := ReadExitFile(path); ok {
		t.Fatal("empty exit file reported a status")
	}
	if _, ok := ReadExitFile(filepath.Join(t.TempDir(), "missing")); ok {
		t.Fatal("missing exit file reported a status")
	}
	if err := WriteExitFile(f, 137); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(path); string(data) != `{"status":137}` {
		t.Errorf("file holds %q", data)
	}
	// A shorter second record replaces the first entirely.
	if err := WriteExitFile(f, 0); err != nil {
		t.Fatal(err)
	}
	if st, ok := ReadExitFile(path); !ok || st != 0 {
		t.Errorf("ReadExitFile = %d, %v; want 0, true", st, ok)
	}
	if err := os.WriteFile(path, []byte(`{"stat`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, ok := ReadExitFile(path); ok {
		t.Error("partial record reported a status")
	}
}

func TestNetworkMode(t *testing.T) {
	withPath := &specs.Spec{Linux: &specs.Linux{Namespaces: []specs.LinuxNamespace{
		{Type: specs.PIDNamespace}, {Type: specs.NetworkNamespace, Path: "/var/run/netns/x"},
	}}}
	fresh := &specs.Spec{Linux: &specs.Linux{Namespaces: []specs.LinuxNamespace{{Type: specs.NetworkNamespace}}}}
	for _, c := range []struct {
		flag string
		spec *specs.Spec
		want string
	}{
		{"", withPath, "host"},
		{"", fresh, "none"},
		{"", &specs.Spec{}, "none"},
		{"none", withPath, "none"},
		{"host", fresh, "host"},
	} {
		if got := NetworkMode(c.flag, c.spec); got != c.want {
			t.Errorf("NetworkMode(%q, ...) = %q, want %q", c.flag, got, c.want)
		}
	}
}
