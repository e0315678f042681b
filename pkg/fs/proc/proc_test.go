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

// lookupPath walks a path of the proc root without a mount tree.
func lookupPath(t *testing.T, fs *vfs.SyntheticFS, ctx vfs.Context, path string) vfs.Inode {
	t.Helper()
	in := fs.Root()
	for _, name := range strings.Split(path, "/") {
		var err error
		if in, err = in.(vfs.DirInode).Lookup(ctx, name); err != nil {
			t.Fatalf("lookup %q of %q: %v", name, path, err)
		}
	}
	return in
}

func TestGlobalStatAndSysctls(t *testing.T) {
	fs := New(newKernel(t))
	ctx := vfs.BackgroundContext(auth.NewRootCredentials())
	stat := read(t, fs, ctx, "stat")
	lines := strings.Split(stat, "\n")
	if !strings.HasPrefix(lines[0], "cpu  ") || !strings.HasPrefix(lines[1], "cpu0 ") ||
		!strings.HasPrefix(lines[2], "cpu1 ") || strings.HasPrefix(lines[3], "cpu") {
		t.Errorf("cpu lines of /proc/stat:\n%s", stat)
	}
	if n := len(strings.Fields(lines[0])); n != 11 {
		t.Errorf("cpu line has %d fields, want 11", n)
	}
	for _, key := range []string{"\nbtime ", "\nprocesses ", "\nprocs_running ", "\nprocs_blocked ", "\nctxt "} {
		if !strings.Contains(stat, key) {
			t.Errorf("/proc/stat lacks %q", key)
		}
	}
	for path, want := range map[string]string{
		"sys/kernel/osrelease": "5.15.0-test\n", "sys/kernel/ostype": "Linux\n",
		"sys/kernel/pid_max": "4194304\n", "sys/vm/overcommit_memory": "0\n",
		"sys/kernel/ngroups_max": "65536\n", "sys/net/core/somaxconn": "4096\n",
	} {
		in := lookupPath(t, fs, ctx, path)
		impl, err := in.Open(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 64)
		n, _ := impl.Read(ctx, nil, buf, 0)
		if got := string(buf[:n]); got != want {
			t.Errorf("%s = %q, want %q", path, got, want)
		}
	}
	if _, err := lookupPath(t, fs, ctx, "sys/kernel/hostname").Open(ctx, 1); err == nil {
		t.Error("a sysctl opened for writing")
	}
	up := strings.Fields(read(t, fs, ctx, "uptime"))
	if len(up) != 2 {
		t.Errorf("uptime %q", up)
	}
}
