package overlay_test

import (
	"errors"
	"sort"
	"strings"
	"testing"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/fs/overlay"
	"bulwark.dev/pkg/fs/tmpfs"
	"bulwark.dev/pkg/kernel/auth"
	"bulwark.dev/pkg/vfs"
)

var ctx = vfs.BackgroundContext(auth.NewRootCredentials())

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func write(t *testing.T, fs *vfs.FSContext, path, data string, flags uint32) {
	t.Helper()
	f, err := vfs.OpenAt(ctx, fs, nil, path, linux.O_WRONLY|linux.O_CREAT|flags, 0o644)
	must(t, err)
	defer f.DecRef()
	_, err = f.Write(ctx, []byte(data))
	must(t, err)
}

func read(t *testing.T, fs *vfs.FSContext, path string) string {
	t.Helper()
	f, err := vfs.OpenAt(ctx, fs, nil, path, linux.O_RDONLY, 0)
	must(t, err)
	defer f.DecRef()
	buf := make([]byte, 100)
	n, err := f.Read(ctx, buf)
	must(t, err)
	return string(buf[:n])
}

func list(t *testing.T, fs *vfs.FSContext, path string) string {
	t.Helper()
	f, err := vfs.OpenAt(ctx, fs, nil, path, linux.O_RDONLY|linux.O_DIRECTORY, 0)
	must(t, err)
	defer f.DecRef()
	var names []string
	must(t, f.Readdir(ctx, func(d vfs.Dirent, _ int64) bool {
		if d.Name != "." && d.Name != ".." {
			names = append(names, d.Name)
		}
		return true
	}))
	sort.Strings(names)
	return strings.Join(names, ",")
}

// setup builds a lower tmpfs with /etc/passwd, /bin/sh -> busybox and
// /dir/{a,b}, mounted read-only on its own, and an overlay over it.
func setup(t *testing.T) (lower, merged *vfs.FSContext) {
	t.Helper()
	low := tmpfs.New(tmpfs.Options{Mode: 0o755})
	lns, err := vfs.NewMountNamespace(low, vfs.MountOptions{})
	must(t, err)
	lower, err = lns.NewFSContext("/", 0)
	must(t, err)
	must(t, vfs.MkdirAt(ctx, lower, nil, "/etc", 0o755))
	must(t, vfs.MkdirAt(ctx, lower, nil, "/bin", 0o755))
	must(t, vfs.MkdirAt(ctx, lower, nil, "/dir", 0o755))
	write(t, lower, "/etc/passwd", "root:x:0:0", 0)
	write(t, lower, "/bin/busybox", "ELF", 0)
	write(t, lower, "/dir/a", "A", 0)
	write(t, lower, "/dir/b", "B", 0)
	must(t, vfs.SymlinkAt(ctx, lower, "busybox", nil, "/bin/sh"))
	ofs, err := overlay.New(tmpfs.New(tmpfs.Options{Mode: 0o755}), low)
	must(t, err)
	ns, err := vfs.NewMountNamespace(ofs, vfs.MountOptions{})
	must(t, err)
	merged, err = ns.NewFSContext("/", 0o022)
	must(t, err)
	return lower, merged
}

func TestOverlayCopyUp(t *testing.T) {
	lower, fs := setup(t)
	if got := read(t, fs, "/bin/sh"); got != "ELF" {
		t.Fatalf("through lower symlink %q", got)
	}
	write(t, fs, "/etc/passwd", ":more", linux.O_APPEND)
	if got := read(t, fs, "/etc/passwd"); got != "root:x:0:0:more" {
		t.Fatalf("merged %q", got)
	}
	if got := read(t, lower, "/etc/passwd"); got != "root:x:0:0" {
		t.Fatalf("lower changed: %q", got)
	}
	must(t, vfs.SetAttrAt(ctx, fs, nil, "/bin/busybox", 0, vfs.SetAttrRequest{Mask: vfs.SetMode, Mode: 0o700}))
	st, _ := vfs.StatAt(ctx, fs, nil, "/bin/busybox", 0)
	lst, _ := vfs.StatAt(ctx, lower, nil, "/bin/busybox", 0)
	if st.Mode&0o777 != 0o700 || lst.Mode&0o777 != 0o644 {
		t.Fatalf("chmod merged %o lower %o", st.Mode, lst.Mode)
	}
	if got := read(t, fs, "/bin/busybox"); got != "ELF" {
		t.Fatalf("content after metadata copy-up %q", got)
	}
	write(t, fs, "/new", "N", 0)
	if got := list(t, fs, "/"); got != "bin,dir,etc,new" {
		t.Fatalf("root listing %s", got)
	}
}

func TestOverlayWhiteouts(t *testing.T) {
	lower, fs := setup(t)
	must(t, vfs.UnlinkAt(ctx, fs, nil, "/dir/a", 0))
	_, err := vfs.StatAt(ctx, fs, nil, "/dir/a", 0)
	if !errors.Is(err, linux.ENOENT) {
		t.Fatalf("deleted file: %v", err)
	}
	if got := list(t, fs, "/dir"); got != "b" {
		t.Fatalf("listing %q", got)
	}
	if got := read(t, lower, "/dir/a"); got != "A" {
		t.Fatal("lower lost the file")
	}
	// Recreate over the whiteout.
	write(t, fs, "/dir/a", "again", 0)
	if got := read(t, fs, "/dir/a"); got != "again" {
		t.Fatalf("recreated %q", got)
	}
	// rmdir of a lower directory needs it empty in the merged view.
	if err := vfs.UnlinkAt(ctx, fs, nil, "/dir", linux.AT_REMOVEDIR); !errors.Is(err, linux.ENOTEMPTY) {
		t.Fatalf("rmdir non-empty: %v", err)
	}
	must(t, vfs.UnlinkAt(ctx, fs, nil, "/dir/a", 0))
	must(t, vfs.UnlinkAt(ctx, fs, nil, "/dir/b", 0))
	must(t, vfs.UnlinkAt(ctx, fs, nil, "/dir", linux.AT_REMOVEDIR))
	if got := list(t, fs, "/"); got != "bin,etc" {
		t.Fatalf("root after rmdir %q", got)
	}
	// A new directory with the same name is opaque: the lower files stay hidden.
	must(t, vfs.MkdirAt(ctx, fs, nil, "/dir", 0o755))
	if got := list(t, fs, "/dir"); got != "" {
		t.Fatalf("opaque dir lists %q", got)
	}
	_, err = vfs.StatAt(ctx, fs, nil, "/dir/b", 0)
	if !errors.Is(err, linux.ENOENT) {
		t.Fatalf("lower file visible through opaque dir: %v", err)
	}
}

func TestOverlayRename(t *testing.T) {
	lower, fs := setup(t)
	must(t, vfs.RenameAt(ctx, fs, nil, "/etc/passwd", nil, "/passwd", 0))
	if got := read(t, fs, "/passwd"); got != "root:x:0:0" {
		t.Fatalf("renamed %q", got)
	}
	if _, err := vfs.StatAt(ctx, fs, nil, "/etc/passwd", 0); !errors.Is(err, linux.ENOENT) {
		t.Fatalf("old name: %v", err)
	}
	if got := read(t, lower, "/etc/passwd"); got != "root:x:0:0" {
		t.Fatal("lower changed")
	}
	if err := vfs.RenameAt(ctx, fs, nil, "/dir", nil, "/dir2", 0); !errors.Is(err, linux.EXDEV) {
		t.Fatalf("lower dir rename: %v", err)
	}
	must(t, vfs.MkdirAt(ctx, fs, nil, "/up", 0o755))
	must(t, vfs.RenameAt(ctx, fs, nil, "/up", nil, "/up2", 0))
	must(t, vfs.LinkAt(ctx, fs, nil, "/bin/busybox", nil, "/bin/hard", 0))
	if got := read(t, fs, "/bin/hard"); got != "ELF" {
		t.Fatalf("hard link %q", got)
	}
}
