package proc

import (
	"strings"
	"testing"

	"bulwark.dev/pkg/kernel"
	"bulwark.dev/pkg/kernel/auth"
	"bulwark.dev/pkg/platform"
	"bulwark.dev/pkg/vfs"
)

type nopPlatform struct{ platform.Platform }

func newKernel(t *testing.T) *kernel.Kernel {
	t.Helper()
	k, err := kernel.New(kernel.Config{Platform: nopPlatform{}, Syscalls: kernel.SyscallTable{},
		NumCPU: 2, TotalMemory: 1 << 30, Release: "5.15.0-test"})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// read opens and reads a synthetic file of the proc root.
func read(t *testing.T, fs *vfs.SyntheticFS, ctx vfs.Context, name string) string {
	t.Helper()
	in, err := fs.Root().(vfs.DirInode).Lookup(ctx, name)
	if err != nil {
		t.Fatalf("lookup %q: %v", name, err)
	}
	impl, err := in.Open(ctx, 0)
	if err != nil {
		t.Fatalf("open %q: %v", name, err)
	}
	buf := make([]byte, 4096)
	n, err := impl.Read(ctx, nil, buf, 0)
	if err != nil {
		t.Fatalf("read %q: %v", name, err)
	}
	return string(buf[:n])
}

func TestSystemFiles(t *testing.T) {
	fs := New(newKernel(t))
	ctx := vfs.BackgroundContext(auth.NewRootCredentials())
	if got := read(t, fs, ctx, "meminfo"); !strings.HasPrefix(got, "MemTotal:        1048576 kB\n") {
		t.Errorf("meminfo = %q", got)
	}
	if got := read(t, fs, ctx, "version"); !strings.HasPrefix(got, "Linux version 5.15.0-test ") {
		t.Errorf("version = %q", got)
	}
	if got := read(t, fs, ctx, "cpuinfo"); strings.Count(got, "processor\t:") != 2 {
		t.Errorf("cpuinfo shows %d CPUs, want 2", strings.Count(got, "processor\t:"))
	}
	if got := read(t, fs, ctx, "loadavg"); got != "0.00 0.00 0.00 1/0 0\n" {
		t.Errorf("loadavg = %q", got)
	}
}

func TestRootListing(t *testing.T) {
	fs := New(newKernel(t))
	ctx := vfs.BackgroundContext(auth.NewRootCredentials())
	dirents, err := fs.Root().(vfs.DirInode).Readdir(ctx)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, d := range dirents {
		names[d.Name] = true
	}
	for _, want := range []string{"self", "mounts", "uptime", "meminfo"} {
		if !names[want] {
			t.Errorf("root lacks %q (has %v)", want, names)
		}
	}
	// "self" needs a task; from the host it does not resolve.
	in, _ := fs.Root().(vfs.DirInode).Lookup(ctx, "self")
	if _, err := in.(vfs.SymlinkInode).Readlink(ctx); err == nil {
		t.Error("self resolved without a task")
	}
	if _, err := fs.Root().(vfs.DirInode).Lookup(ctx, "42"); err == nil {
		t.Error("lookup of a missing pid succeeded")
	}
}
