package boot

import (
	"bytes"
	"errors"
	"io/fs"
	"log"
	"strings"
	"testing"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/kernel"
	"bulwark.dev/pkg/kernel/auth"
	"bulwark.dev/pkg/vfs"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// pathRulesFixture is a tree with a tmpfs root holding files and
// directories to cover, a /dev from the dev filesystem and a /proc whose
// root computes its entries.
type pathRulesFixture struct {
	t     *testing.T
	ns    *vfs.MountNamespace
	fsctx *vfs.FSContext
	ctx   vfs.Context
	logs  bytes.Buffer
}

func newPathRulesFixture(t *testing.T) *pathRulesFixture {
	t.Helper()
	spec := &specs.Spec{Root: &specs.Root{Path: "rootfs"}, Mounts: []specs.Mount{
		{Destination: "/dev", Type: "tmpfs"},
		{Destination: "/proc", Type: "proc"},
	}}
	plan, err := PlanMounts(spec, false)
	if err != nil {
		t.Fatal(err)
	}
	var fds []int
	m := fakeMakers(&fds)
	m.proc = func(_ *kernel.Kernel, _ *vfs.MountNamespace, _ map[string]string) (vfs.Filesystem, error) {
		sys := vfs.NewStaticDir(0o555, []vfs.Entry{{Name: "kernel", Inode: vfs.NewStaticFile(0o644, []byte("x\n"))}})
		root := vfs.NewDynamicDir(0o555, func(vfs.Context) ([]vfs.Entry, error) {
			return []vfs.Entry{{Name: "sys", Inode: sys}, {Name: "kcore", Inode: vfs.NewStaticFile(0o400, []byte("core"))}}, nil
		})
		return vfs.NewSyntheticFS("proc", 0x9fa0, root), nil
	}
	f := &pathRulesFixture{t: t, ctx: vfs.BackgroundContext(auth.NewRootCredentials())}
	if f.ns, err = m.build(nil, plan, []int{3}, log.New(&f.logs, "", 0)); err != nil {
		t.Fatal(err)
	}
	if f.fsctx, err = f.ns.NewFSContext("/", 0); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"/secret-dir", "/secret-dir/sub", "/ro-dir", "/etc"} {
		f.must(vfs.MkdirAt(f.ctx, f.fsctx, nil, d, 0o755))
	}
	for _, p := range []string{"/secret-file", "/secret-dir/sub/f", "/ro-dir/f", "/ro-file", "/etc/ok"} {
		f.write(p, "secrets")
	}
	f.must(vfs.SymlinkAt(f.ctx, f.fsctx, "secret-file", nil, "/link-to-secret"))
	return f
}

func (f *pathRulesFixture) must(err error) {
	f.t.Helper()
	if err != nil {
		f.t.Fatal(err)
	}
}

// write replaces the content of p (creating it).
func (f *pathRulesFixture) write(p, data string) error {
	file, err := vfs.OpenAt(f.ctx, f.fsctx, nil, p, linux.O_WRONLY|linux.O_CREAT|linux.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	defer file.DecRef()
	_, err = file.Write(f.ctx, []byte(data))
	return err
}

// read returns the content of p.
func (f *pathRulesFixture) read(p string) (string, error) {
	file, err := vfs.OpenAt(f.ctx, f.fsctx, nil, p, linux.O_RDONLY, 0)
	if err != nil {
		return "", err
	}
	defer file.DecRef()
	b := make([]byte, 64)
	n, err := file.Read(f.ctx, b)
	return string(b[:n]), err
}

// list returns the names in directory p, without "." and "..".
func (f *pathRulesFixture) list(p string) []string {
	f.t.Helper()
	file, err := vfs.OpenAt(f.ctx, f.fsctx, nil, p, linux.O_RDONLY|linux.O_DIRECTORY, 0)
	f.must(err)
	defer file.DecRef()
	var names []string
	f.must(file.Readdir(f.ctx, func(d vfs.Dirent, _ int64) bool {
		if d.Name != "." && d.Name != ".." {
			names = append(names, d.Name)
		}
		return true
	}))
	return names
}

func (f *pathRulesFixture) stat(p string) linux.Statx {
	f.t.Helper()
	s, err := vfs.StatAt(f.ctx, f.fsctx, nil, p, linux.AT_SYMLINK_NOFOLLOW)
	f.must(err)
	return s
}

func TestMaskedPaths(t *testing.T) {
	f := newPathRulesFixture(t)
	spec := &specs.Spec{Linux: &specs.Linux{MaskedPaths: []string{
		"/secret-file", "/secret-dir", "/secret-dir/sub/f", "/missing", "/proc/kcore",
	}}}
	f.must(applyPathRules(f.ns, spec, log.New(&f.logs, "", 0)))

	// A file reads as /dev/null: empty, writes vanish.
	if s := f.stat("/secret-file"); uint32(s.Mode)&linux.S_IFMT != linux.S_IFCHR || s.RdevMajor != 1 || s.RdevMinor != 3 {
		t.Errorf("masked file: mode %#o rdev %d:%d, want the null device 1:3", s.Mode, s.RdevMajor, s.RdevMinor)
	}
	if got, err := f.read("/secret-file"); got != "" || err != nil {
		t.Errorf("reading the masked file: %q, %v; want nothing", got, err)
	}
	if err := f.write("/secret-file", "more"); err != nil {
		t.Errorf("writing the masked file (to /dev/null): %v", err)
	}
	// Through a symlink too: the file itself is covered.
	if got, _ := f.read("/link-to-secret"); got != "" {
		t.Errorf("reading the masked file through a symlink: %q", got)
	}
	// A directory is an empty read-only tmpfs; what it covered stays hidden.
	if names := f.list("/secret-dir"); len(names) != 0 {
		t.Errorf("masked directory lists %v, want nothing", names)
	}
	if err := vfs.MkdirAt(f.ctx, f.fsctx, nil, "/secret-dir/new", 0o755); !errors.Is(err, linux.EROFS) {
		t.Errorf("mkdir in the masked directory: %v, want EROFS", err)
	}
	// Unmasked files are untouched.
	if got, err := f.read("/etc/ok"); got != "secrets" || err != nil {
		t.Errorf("an unmasked file reads %q, %v", got, err)
	}
	// A path under /proc (entries computed on each lookup) is logged, not mounted.
	if !strings.Contains(f.logs.String(), "not covering /proc/kcore") {
		t.Errorf("no log line for the /proc path; logs:\n%s", f.logs.String())
	}
	for _, mi := range f.ns.Mounts() {
		if mi.Target == "/proc/kcore" || mi.Target == "/missing" || mi.Target == "/secret-dir/sub/f" {
			t.Errorf("unexpected mount at %s", mi.Target)
		}
	}
}

func TestReadonlyPaths(t *testing.T) {
	f := newPathRulesFixture(t)
	spec := &specs.Spec{Linux: &specs.Linux{ReadonlyPaths: []string{"/ro-dir", "/ro-file", "/missing", "/proc/sys"}}}
	f.must(applyPathRules(f.ns, spec, log.New(&f.logs, "", 0)))

	if got, err := f.read("/ro-dir/f"); got != "secrets" || err != nil {
		t.Errorf("reading in the read-only directory: %q, %v", got, err)
	}
	if got, err := f.read("/ro-file"); got != "secrets" || err != nil {
		t.Errorf("reading the read-only file: %q, %v", got, err)
	}
	for _, p := range []string{"/ro-dir/f", "/ro-dir/new", "/ro-file"} {
		if err := f.write(p, "x"); !errors.Is(err, linux.EROFS) {
			t.Errorf("writing %s: %v, want EROFS", p, err)
		}
	}
	if err := f.write("/etc/ok", "changed"); err != nil {
		t.Errorf("writing outside the read-only paths: %v", err)
	}
	if !strings.Contains(f.logs.String(), "not covering /proc/sys") {
		t.Errorf("no log line for the /proc path; logs:\n%s", f.logs.String())
	}
}

func TestSpecDevices(t *testing.T) {
	f := newPathRulesFixture(t)
	mode := fs.FileMode(0o640)
	uid, gid := uint32(7), uint32(8)
	spec := &specs.Spec{Linux: &specs.Linux{Devices: []specs.LinuxDevice{
		{Path: "/dev/test1", Type: "c", Major: 10, Minor: 666, FileMode: &mode, UID: &uid, GID: &gid},
		{Path: "/dev/sub/test2", Type: "b", Major: 8, Minor: 300},
		{Path: "/dev/test3", Type: "p"},
		{Path: "/dev/null", Type: "c", Major: 9, Minor: 9},
	}}}
	f.must(applyPathRules(f.ns, spec, log.New(&f.logs, "", 0)))
	for _, tt := range []struct {
		path         string
		typ, perm    uint32
		major, minor uint32
		uid, gid     uint32
	}{
		{"/dev/test1", linux.S_IFCHR, 0o640, 10, 666, 7, 8},
		{"/dev/sub/test2", linux.S_IFBLK, 0o666, 8, 300, 0, 0},
		{"/dev/test3", linux.S_IFIFO, 0o666, 0, 0, 0, 0},
		{"/dev/null", linux.S_IFCHR, 0o666, 1, 3, 0, 0}, // existing: kept
	} {
		s := f.stat(tt.path)
		if uint32(s.Mode)&linux.S_IFMT != tt.typ || uint32(s.Mode)&0o7777 != tt.perm || s.RdevMajor != tt.major ||
			s.RdevMinor != tt.minor || s.UID != tt.uid || s.GID != tt.gid {
			t.Errorf("%s: mode %#o rdev %d:%d owner %d:%d; want %#o %d:%d %d:%d", tt.path, s.Mode, s.RdevMajor,
				s.RdevMinor, s.UID, s.GID, tt.typ|tt.perm, tt.major, tt.minor, tt.uid, tt.gid)
		}
	}
}

func TestPathRulesErrors(t *testing.T) {
	for name, l := range map[string]*specs.Linux{
		"relative masked path":   {MaskedPaths: []string{"masked"}},
		"relative readonly path": {ReadonlyPaths: []string{"ro"}},
		"relative device path":   {Devices: []specs.LinuxDevice{{Path: "dev/x", Type: "c"}}},
		"unknown device type":    {Devices: []specs.LinuxDevice{{Path: "/dev/x", Type: "q"}}},
	} {
		f := newPathRulesFixture(t)
		err := applyPathRules(f.ns, &specs.Spec{Linux: l}, log.New(&f.logs, "", 0))
		if err == nil || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error %v, want one line", name, err)
		}
	}
	f := newPathRulesFixture(t)
	if err := applyPathRules(f.ns, &specs.Spec{}, log.New(&f.logs, "", 0)); err != nil {
		t.Errorf("a spec without linux: %v", err)
	}
}
