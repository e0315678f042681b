package proc

import (
	"testing"

	"bulwark.dev/pkg/kernel"
	"bulwark.dev/pkg/kernel/auth"
	"bulwark.dev/pkg/vfs"
)

func TestSpecSysctls(t *testing.T) {
	fs := NewWithSysctls(newKernel(t), map[string]string{
		"net.ipv4.ip_forward": "1", "vm.overcommit_memory": "2", "bad..key": "x",
	})
	ctx := vfs.BackgroundContext(auth.NewRootCredentials())
	for path, want := range map[string]string{
		"sys/net/ipv4/ip_forward": "1\n", "sys/vm/overcommit_memory": "2\n", "sys/kernel/ostype": "Linux\n",
	} {
		impl, err := lookupPath(t, fs, ctx, path).Open(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 64)
		n, _ := impl.Read(ctx, nil, buf, 0)
		if got := string(buf[:n]); got != want {
			t.Errorf("%s = %q, want %q", path, got, want)
		}
	}
}

func TestIdentityMapAndAttr(t *testing.T) {
	b, err := identityMap(nil, kernel.ProcessSnapshot{})
	if err != nil || string(b) != "         0          0 4294967295\n" {
		t.Errorf("uid_map = %q, %v", b, err)
	}
	ctx := vfs.BackgroundContext(auth.NewRootCredentials())
	in, err := attrDir().(vfs.DirInode).Lookup(ctx, "current")
	if err != nil {
		t.Fatal(err)
	}
	impl, err := in.Open(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	n, _ := impl.Read(ctx, nil, buf, 0)
	if string(buf[:n]) != "unconfined\n" {
		t.Errorf("attr/current = %q", buf[:n])
	}
}
