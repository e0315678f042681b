package gofer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/fsproto"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func TestBindMounts(t *testing.T) {
	spec := &specs.Spec{Mounts: []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc"},
		{Destination: "/a", Type: "bind", Source: "/srv/a"},
		{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs"},
		{Destination: "/b", Type: "none", Source: "/srv/b", Options: []string{"rbind", "ro"}},
		{Destination: "/c", Source: "/srv/c", Options: []string{"bind"}},
	}}
	var got []string
	for _, m := range BindMounts(spec) {
		got = append(got, m.Destination)
	}
	if want := []string{"/a", "/b", "/c"}; !reflect.DeepEqual(got, want) {
		t.Errorf("BindMounts = %v, want %v", got, want)
	}
	if BindMounts(nil) != nil {
		t.Error("BindMounts(nil) != nil")
	}
}

// bundle is a test bundle: rootfs, a bind-mounted directory (read-only)
// and a bind-mounted file.
type bundle struct {
	dir  string
	spec *specs.Spec
}

func newBundle(t *testing.T) bundle {
	t.Helper()
	dir := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(dir, "rootfs", "bin"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "rootfs", "bin", "sh"), []byte("shell"), 0o755))
	must(os.Symlink("/etc", filepath.Join(dir, "rootfs", "etc")))
	must(os.MkdirAll(filepath.Join(dir, "data"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "data", "x"), []byte("data"), 0o644))
	must(os.WriteFile(filepath.Join(dir, "hosts"), []byte("127.0.0.1 localhost\n"), 0o644))
	spec := &specs.Spec{
		Root: &specs.Root{Path: "rootfs"},
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc"},
			{Destination: "/data", Type: "bind", Source: filepath.Join(dir, "data"), Options: []string{"rbind", "ro"}},
			{Destination: "/etc/hosts", Type: "bind", Source: "hosts"}, // relative to the bundle
		},
	}
	return bundle{dir: dir, spec: spec}
}

// pairs returns n socketpairs: the server ends and clients on the others.
func pairs(t *testing.T, n int) ([]int, []*fsproto.Client) {
	t.Helper()
	var sfds []int
	var clients []*fsproto.Client
	for range n {
		fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		c, err := fsproto.NewClient(fds[1])
		if err != nil {
			t.Fatal(err)
		}
		sfds = append(sfds, fds[0])
		clients = append(clients, c)
	}
	return sfds, clients
}

// checkMounts exercises the three filesystems of newBundle.
func checkMounts(t *testing.T, clients []*fsproto.Client) {
	t.Helper()
	root, data, hosts := clients[0], clients[1], clients[2]
	r, _, err := root.Attach()
	if err != nil {
		t.Fatalf("root Attach: %v", err)
	}
	bin, _, err := root.Walk(r, "bin")
	if err != nil {
		t.Fatalf("Walk(bin): %v", err)
	}
	sh, _, err := root.Walk(bin, "sh")
	if err != nil {
		t.Fatalf("Walk(sh): %v", err)
	}
	if got := readAll(t, root, sh); got != "shell" {
		t.Errorf("bin/sh reads %q", got)
	}
	etc, a, err := root.Walk(r, "etc")
	if err != nil || a.Mode&unix.S_IFMT != unix.S_IFLNK {
		t.Fatalf("Walk(etc) = %o, %v; want the symlink", a.Mode, err)
	}
	if _, _, err := root.Walk(etc, "passwd"); err != linux.ENOTDIR {
		t.Errorf("Walk(etc/passwd) = %v, want ENOTDIR", err)
	}
	if _, _, fd, err := root.Create(r, "new", unix.O_RDWR, 0o644, 0, 0); err != nil {
		t.Errorf("Create in the writable root: %v", err)
	} else {
		unix.Close(fd)
	}

	d, _, err := data.Attach()
	if err != nil {
		t.Fatalf("data Attach: %v", err)
	}
	x, _, err := data.Walk(d, "x")
	if err != nil {
		t.Fatalf("Walk(x): %v", err)
	}
	if got := readAll(t, data, x); got != "data" {
		t.Errorf("data/x reads %q", got)
	}
	if _, _, _, err := data.Create(d, "y", unix.O_RDWR, 0o644, 0, 0); err != linux.EROFS {
		t.Errorf("Create in the ro bind = %v, want EROFS", err)
	}

	h, a, err := hosts.Attach()
	if err != nil || a.Mode&unix.S_IFMT != unix.S_IFREG {
		t.Fatalf("file bind Attach = %o, %v", a.Mode, err)
	}
	if got := readAll(t, hosts, h); got != "127.0.0.1 localhost\n" {
		t.Errorf("file bind reads %q", got)
	}
}

func readAll(t *testing.T, c *fsproto.Client, f fsproto.FID) string {
	t.Helper()
	fd, err := c.Open(f, unix.O_RDONLY)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer unix.Close(fd)
	buf := make([]byte, 256)
	n, err := unix.Read(fd, buf)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return string(buf[:n])
}

func TestRunUnconfined(t *testing.T) {
	b := newBundle(t)
	sfds, clients := pairs(t, 3)
	done := make(chan error, 1)
	go func() {
		done <- run(runArgs{Args: Args{ID: "test", BundleDir: b.dir, IOFDs: sfds}, spec: b.spec})
	}()
	checkMounts(t, clients)
	for _, c := range clients {
		c.Close()
	}
	if err := <-done; err != nil {
		t.Errorf("run: %v", err)
	}
}

func TestRunReadOnlyRoot(t *testing.T) {
	b := newBundle(t)
	b.spec.Root.Readonly = true
	sfds, clients := pairs(t, 3)
	done := make(chan error, 1)
	go func() {
		done <- run(runArgs{Args: Args{BundleDir: b.dir, IOFDs: sfds}, spec: b.spec})
	}()
	r, _, err := clients[0].Attach()
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := clients[0].Mkdir(r, "d", 0o755, 0, 0); err != linux.EROFS {
		t.Errorf("Mkdir in a read-only root = %v, want EROFS", err)
	}
	for _, c := range clients {
		c.Close()
	}
	if err := <-done; err != nil {
		t.Errorf("run: %v", err)
	}
}

func TestRunErrors(t *testing.T) {
	b := newBundle(t)
	sfds, clients := pairs(t, 2)
	defer func() {
		for _, c := range clients {
			c.Close()
		}
	}()
	if err := run(runArgs{Args: Args{BundleDir: b.dir, IOFDs: sfds}, spec: b.spec}); err == nil ||
		!strings.Contains(err.Error(), "2 io fds for 3 filesystems") {
		t.Errorf("wrong fd count: %v", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	fds := []int{sfds[0], sfds[1], int(r.Fd())}
	if err := run(runArgs{Args: Args{BundleDir: b.dir, IOFDs: fds}, spec: b.spec}); err == nil ||
		!strings.Contains(err.Error(), "not a SOCK_SEQPACKET") && !strings.Contains(err.Error(), "socket operation on non-socket") {
		t.Errorf("pipe as io fd: %v", err)
	}
	bad := *b.spec
	bad.Mounts = nil
	bad.Root = &specs.Root{Path: "missing"}
	if err := run(runArgs{Args: Args{BundleDir: b.dir, IOFDs: sfds[:1]}, spec: &bad}); err == nil ||
		!strings.Contains(err.Error(), "root source") {
		t.Errorf("missing root: %v", err)
	}
	bad.Root = &specs.Root{Path: "rootfs"}
	if err := run(runArgs{Args: Args{IOFDs: sfds[:1]}, spec: &bad}); err == nil {
		t.Error("relative root without a bundle accepted")
	}
	bad.Root = nil
	if err := run(runArgs{Args: Args{IOFDs: sfds[:1]}, spec: &bad}); err == nil {
		t.Error("spec without root accepted")
	}
}

func TestReadSpec(t *testing.T) {
	for _, tc := range []struct {
		data string
		ok   bool
	}{{`{"root":{"path":"rootfs"}}`, true}, {`{not json`, false}} {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		w.WriteString(tc.data)
		w.Close()
		fd, err := unix.Dup(int(r.Fd()))
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		spec, err := readSpec(fd)
		if tc.ok && (err != nil || spec.Root.Path != "rootfs") {
			t.Errorf("readSpec(%s) = %+v, %v", tc.data, spec, err)
		}
		if !tc.ok && err == nil {
			t.Errorf("readSpec(%s) accepted", tc.data)
		}
	}
	if _, err := readSpec(-1); err == nil {
		t.Error("readSpec(-1) accepted")
	}
}

// specJSON is used by the process test.
func specJSON(t *testing.T, spec *specs.Spec) []byte {
	b, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
