package devpts

import (
	"testing"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/kernel/auth"
	"bulwark.dev/pkg/vfs"
)

func TestNameAndMagic(t *testing.T) {
	fs, err := New(0o666)
	if err != nil {
		t.Fatal(err)
	}
	if fs.Name() != "devpts" {
		t.Errorf("Name() = %q", fs.Name())
	}
	st, err := fs.StatFS(vfs.BackgroundContext(auth.NewRootCredentials()))
	if err != nil || st.Type != Magic {
		t.Errorf("StatFS = %+v, %v; want type %#x", st, err, Magic)
	}
	ns, err := vfs.NewMountNamespace(fs, vfs.MountOptions{})
	if err != nil {
		t.Fatalf("NewMountNamespace: %v", err)
	}
	ctx := vfs.BackgroundContext(auth.NewRootCredentials())
	fsc, err := ns.NewFSContext("/", 0o22)
	if err != nil {
		t.Fatal(err)
	}
	a, err := vfs.StatAt(ctx, fsc, nil, "/ptmx", 0)
	if err != nil || a.Mode != linux.S_IFCHR|0o666 || a.RdevMajor != 5 || a.RdevMinor != 2 {
		t.Errorf("ptmx: %+v, %v", a, err)
	}
	if m := ns.Mounts(); len(m) != 1 || m[0].Type != "devpts" {
		t.Errorf("Mounts() = %+v", m)
	}
}
