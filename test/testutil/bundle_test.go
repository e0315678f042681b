package testutil

import (
	"reflect"
	"testing"
)

func TestWriteBundleRoundTrip(t *testing.T) {
	dir := t.TempDir()
	spec := NewSpec(SpecOptions{Args: []string{"sh", "-c", "exit 3"}, Rootfs: "/r", Cwd: "/tmp"})
	if err := WriteBundle(dir, spec); err != nil {
		t.Fatalf("WriteBundle: %v", err)
	}
	got, err := ReadSpec(dir)
	if err != nil {
		t.Fatalf("ReadSpec: %v", err)
	}
	if !reflect.DeepEqual(got.Process.Args, []string{"sh", "-c", "exit 3"}) {
		t.Errorf("args = %q", got.Process.Args)
	}
	if got.Process.Cwd != "/tmp" || got.Root.Path != "/r" || got.Root.Readonly {
		t.Errorf("cwd %q root %+v: want /tmp and a writable /r", got.Process.Cwd, got.Root)
	}
	if !reflect.DeepEqual(got.Process.Env, DefaultEnv) {
		t.Errorf("env = %q, want the default %q", got.Process.Env, DefaultEnv)
	}
	if got.Process.Terminal {
		t.Error("terminal = true, want false")
	}
	mounts := map[string]string{}
	for _, m := range got.Mounts {
		mounts[m.Destination] = m.Type
	}
	want := map[string]string{"/proc": "proc", "/dev": "tmpfs", "/dev/pts": "devpts", "/tmp": "tmpfs"}
	if !reflect.DeepEqual(mounts, want) {
		t.Errorf("mounts = %v, want %v", mounts, want)
	}
	if got.Version == "" {
		t.Error("ociVersion is empty")
	}
}

func TestNewSpecCopiesArgs(t *testing.T) {
	args := []string{"true"}
	spec := NewSpec(SpecOptions{Args: args, Env: []string{"A=1"}})
	args[0] = "changed"
	if spec.Process.Args[0] != "true" || spec.Process.Cwd != "/" || spec.Process.Env[0] != "A=1" {
		t.Errorf("spec process = %+v", spec.Process)
	}
}
