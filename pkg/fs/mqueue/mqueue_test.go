package mqueue

import (
	"testing"

	"bulwark.dev/pkg/kernel/auth"
	"bulwark.dev/pkg/vfs"
)

func TestNameAndMagic(t *testing.T) {
	fs := New()
	if fs.Name() != "mqueue" {
		t.Errorf("Name() = %q", fs.Name())
	}
	st, err := fs.StatFS(vfs.BackgroundContext(auth.NewRootCredentials()))
	if err != nil || st.Type != Magic {
		t.Errorf("StatFS = %+v, %v; want type %#x", st, err, Magic)
	}
	ns, err := vfs.NewMountNamespace(New(), vfs.MountOptions{})
	if err != nil {
		t.Fatalf("NewMountNamespace: %v", err)
	}
	if m := ns.Mounts(); len(m) != 1 || m[0].Type != "mqueue" {
		t.Errorf("Mounts() = %+v", m)
	}
}
