package sys

import (
	"testing"

	"bulwark.dev/pkg/kernel/auth"
	"bulwark.dev/pkg/vfs"
)

func TestCPUFiles(t *testing.T) {
	ctx := vfs.BackgroundContext(auth.NewRootCredentials())
	ns, err := vfs.NewMountNamespace(New(4), vfs.MountOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fsctx, err := ns.NewFSContext("/", 0o22)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"online", "possible", "present"} {
		f, err := vfs.OpenAt(ctx, fsctx, nil, "/devices/system/cpu/"+name, 0, 0)
		if err != nil {
			t.Fatalf("open %s: %v", name, err)
		}
		buf := make([]byte, 64)
		n, _ := f.Read(ctx, buf)
		f.DecRef()
		if got := string(buf[:n]); got != "0-3\n" {
			t.Errorf("%s = %q, want \"0-3\\n\"", name, got)
		}
	}
	if _, err := vfs.StatAt(ctx, fsctx, nil, "/devices/system/cpu/cpu3", 0); err != nil {
		t.Errorf("cpu3: %v", err)
	}
	if st, err := vfs.StatFSAt(ctx, fsctx, "/"); err != nil || st.Type != 0x62656572 {
		t.Errorf("statfs = %+v, %v", st, err)
	}
}
