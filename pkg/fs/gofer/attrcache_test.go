package gofer_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/fs/gofer"
	"bulwark.dev/pkg/vfs"
)

var exclusive = gofer.Options{Exclusive: true}

func stat(t *testing.T, fs *vfs.FSContext, path string) linux.Statx {
	t.Helper()
	st, err := vfs.StatAt(ctx, fs, nil, path, 0)
	if err != nil {
		t.Fatalf("stat %s: %v", path, err)
	}
	return st
}

func statErr(fs *vfs.FSContext, path string) error {
	_, err := vfs.StatAt(ctx, fs, nil, path, 0)
	return err
}

func write(t *testing.T, f *vfs.File, s string) {
	t.Helper()
	if n, err := f.Write(ctx, []byte(s)); err != nil || n != len(s) {
		t.Fatalf("write %q: %d, %v", s, n, err)
	}
}

// TestExclusiveStatAfterChanges checks that an exclusive filesystem's
// cached attributes follow the sandbox's own writes, truncates, links and
// directory changes.
func TestExclusiveStatAfterChanges(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "f"), []byte("abc"), 0o644)
	fs := newFS(t, dir, false, exclusive)

	if got := stat(t, fs, "/f").Size; got != 3 {
		t.Fatalf("size %d, want 3", got)
	}
	f := open(t, fs, "/f", linux.O_WRONLY|linux.O_APPEND)
	write(t, f, "defg")
	if st, _ := f.Stat(ctx); st.Size != 7 {
		t.Errorf("fstat after write: size %d, want 7", st.Size)
	}
	write(t, f, "h") // O_APPEND must see the new size
	f.DecRef()
	if got := stat(t, fs, "/f").Size; got != 8 {
		t.Errorf("stat after appends: size %d, want 8", got)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "f")); string(b) != "abcdefgh" {
		t.Errorf("host file %q", b)
	}
	if err := vfs.SetAttrAt(ctx, fs, nil, "/f", 0, vfs.SetAttrRequest{Mask: vfs.SetSize, Size: 2}); err != nil {
		t.Fatal(err)
	}
	if got := stat(t, fs, "/f").Size; got != 2 {
		t.Errorf("stat after truncate: size %d, want 2", got)
	}

	root := stat(t, fs, "/").Nlink
	if err := vfs.MkdirAt(ctx, fs, nil, "/d", 0o755); err != nil {
		t.Fatal(err)
	}
	if got := stat(t, fs, "/").Nlink; got != root+1 {
		t.Errorf("root nlink after mkdir %d, want %d", got, root+1)
	}
	if err := vfs.LinkAt(ctx, fs, nil, "/f", nil, "/d/g", 0); err != nil {
		t.Fatal(err)
	}
	if got := stat(t, fs, "/f").Nlink; got != 2 {
		t.Errorf("nlink after link %d, want 2", got)
	}
	// A write through one name is seen through the other.
	g := open(t, fs, "/d/g", linux.O_WRONLY|linux.O_APPEND)
	write(t, g, "xyz")
	g.DecRef()
	if got := stat(t, fs, "/f").Size; got != 5 {
		t.Errorf("size through the other link %d, want 5", got)
	}
	if err := vfs.UnlinkAt(ctx, fs, nil, "/d/g", 0); err != nil {
		t.Fatal(err)
	}
	if got := stat(t, fs, "/f").Nlink; got != 1 {
		t.Errorf("nlink after unlink %d, want 1", got)
	}
	if err := vfs.UnlinkAt(ctx, fs, nil, "/d", linux.AT_REMOVEDIR); err != nil {
		t.Fatal(err)
	}
	if got := stat(t, fs, "/").Nlink; got != root {
		t.Errorf("root nlink after rmdir %d, want %d", got, root)
	}
}

// TestExclusiveCachesHostState checks that an exclusive filesystem does
// not ask the host again (it misses the host's own changes, which is what
// the mode promises cannot happen), while a shared one sees them.
func TestExclusiveCachesHostState(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts gofer.Options
	}{{"shared", gofer.Options{}}, {"exclusive", exclusive}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			host := filepath.Join(dir, "f")
			os.WriteFile(host, []byte("abc"), 0o644)
			fs := newFS(t, dir, false, tc.opts)
			stat(t, fs, "/f")
			if err := statErr(fs, "/new"); !errors.Is(err, linux.ENOENT) {
				t.Fatalf("stat of a missing file: %v", err)
			}
			names := readdir(t, fs, "/")

			os.WriteFile(host, []byte("abcdef"), 0o644)
			os.WriteFile(filepath.Join(dir, "new"), nil, 0o644)

			size, err, after := stat(t, fs, "/f").Size, statErr(fs, "/new"), readdir(t, fs, "/")
			if tc.opts.Exclusive {
				if size != 3 || !errors.Is(err, linux.ENOENT) || after != names {
					t.Errorf("exclusive: size %d, missing file: %v, listing %q: want the cached 3, ENOENT, %q",
						size, err, after, names)
				}
				return
			}
			if size != 6 || err != nil || after != "f new" {
				t.Errorf("shared: size %d, new file: %v, listing %q: want the host's 6, found, \"f new\"", size, err, after)
			}
			if got := read(t, fs, "/f"); got != "abcdef" {
				t.Errorf("shared: read %q after the host changed the file", got)
			}
		})
	}
}

// readdir returns the sorted names in a directory, without "." and "..".
func readdir(t *testing.T, fs *vfs.FSContext, path string) string {
	t.Helper()
	d := open(t, fs, path, linux.O_RDONLY|linux.O_DIRECTORY)
	defer d.DecRef()
	var names []string
	err := d.Readdir(ctx, func(e vfs.Dirent, _ int64) bool {
		if e.Name != "." && e.Name != ".." {
			names = append(names, e.Name)
		}
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(names)
	return strings.Join(names, " ")
}

// TestExclusiveNames checks the cached missing names and listings against
// the sandbox's own creates, unlinks and renames.
func TestExclusiveNames(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a"), []byte("a"), 0o644)
	fs := newFS(t, dir, false, exclusive)

	for _, p := range []string{"/x", "/y", "/z"} {
		if err := statErr(fs, p); !errors.Is(err, linux.ENOENT) {
			t.Fatalf("stat %s: %v, want ENOENT", p, err)
		}
	}
	if got := readdir(t, fs, "/"); got != "a" {
		t.Fatalf("listing %q", got)
	}
	open(t, fs, "/x", linux.O_CREAT|linux.O_WRONLY).DecRef()
	if err := vfs.MkdirAt(ctx, fs, nil, "/y", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := vfs.SymlinkAt(ctx, fs, "a", nil, "/z"); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/x", "/y", "/z"} {
		if err := statErr(fs, p); err != nil {
			t.Errorf("stat %s after creating it: %v", p, err)
		}
	}
	if got := readdir(t, fs, "/"); got != "a x y z" {
		t.Errorf("listing after creates %q", got)
	}
	if err := vfs.UnlinkAt(ctx, fs, nil, "/x", 0); err != nil {
		t.Fatal(err)
	}
	if err := statErr(fs, "/x"); !errors.Is(err, linux.ENOENT) {
		t.Errorf("stat after unlink: %v, want ENOENT", err)
	}
	if err := vfs.RenameAt(ctx, fs, nil, "/a", nil, "/y/b", 0); err != nil {
		t.Fatal(err)
	}
	if err := statErr(fs, "/a"); !errors.Is(err, linux.ENOENT) {
		t.Errorf("stat of a rename's source: %v, want ENOENT", err)
	}
	if got := read(t, fs, "/y/b"); got != "a" {
		t.Errorf("read after rename %q", got)
	}
	if got := readdir(t, fs, "/"); got != "y z" {
		t.Errorf("listing after unlink and rename %q", got)
	}
	if got := readdir(t, fs, "/y"); got != "b" {
		t.Errorf("listing of the rename's target directory %q", got)
	}
	// Re-creating a name that was known missing.
	open(t, fs, "/x", linux.O_CREAT|linux.O_WRONLY).DecRef()
	if err := statErr(fs, "/x"); err != nil {
		t.Errorf("stat after re-creating: %v", err)
	}
}

// TestExclusiveOpenShared checks that the opens of a file share one host
// fd but not their positions, and that idle host fds stay bounded.
func TestExclusiveOpenShared(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "f"), []byte("0123456789"), 0o644)
	const files = 300
	for k := range files {
		os.WriteFile(filepath.Join(dir, fmt.Sprint("many", k)), []byte("x"), 0o644)
	}
	fs := newFS(t, dir, false, exclusive)

	before := countHostFDs(t, dir)
	f1 := open(t, fs, "/f", linux.O_RDONLY)
	f2 := open(t, fs, "/f", linux.O_RDONLY)
	if got := hostFDsWithin(t, dir, before+1) - before; got != 1 {
		t.Errorf("two read-only opens hold %d host fds, want 1", got)
	}
	buf := make([]byte, 4)
	if n, _ := f1.Read(ctx, buf); string(buf[:n]) != "0123" {
		t.Errorf("first read %q", buf[:n])
	}
	if n, _ := f2.Read(ctx, buf); string(buf[:n]) != "0123" {
		t.Errorf("the other open's read %q: positions are shared", buf[:n])
	}
	if n, _ := f1.Read(ctx, buf); string(buf[:n]) != "4567" {
		t.Errorf("second read %q", buf[:n])
	}
	w := open(t, fs, "/f", linux.O_RDWR)
	write(t, w, "ab")
	if n, _ := f2.Read(ctx, buf); string(buf[:n]) != "4567" {
		t.Errorf("read after another open wrote %q", buf[:n])
	}
	for _, f := range []*vfs.File{f1, f2, w} {
		f.DecRef()
	}
	if got := read(t, fs, "/f"); got != "ab23456789" {
		t.Errorf("file after the write %q", got)
	}

	for k := range files {
		if got := read(t, fs, fmt.Sprint("/many", k)); got != "x" {
			t.Fatalf("many%d: %q", k, got)
		}
	}
	if got := hostFDsWithin(t, dir, before+128) - before; got > 128 {
		t.Errorf("%d host fds held after opening and closing %d files", got, files)
	}
	if err := vfs.UnlinkAt(ctx, fs, nil, "/many0", 0); err != nil {
		t.Fatal(err)
	}
	if got := hostFDsWithin(t, dir, before) - before; got != 0 {
		t.Errorf("%d host fds held after an unlink, want the idle ones closed", got)
	}
}

// hostFDsWithin returns countHostFDs once it is at most limit, or after
// a second. The in-process server closes its copy of a donated fd just
// after sending it, so the count may briefly be one too high.
func hostFDsWithin(t *testing.T, dir string, limit int) int {
	t.Helper()
	deadline := time.Now().Add(time.Second)
	for {
		n := countHostFDs(t, dir)
		if n <= limit || time.Now().After(deadline) {
			return n
		}
		time.Sleep(time.Millisecond)
	}
}

// countHostFDs counts this process's open fds of files under dir, other
// than O_PATH ones (which the in-process server holds for every file it
// has named).
func countHostFDs(t *testing.T, dir string) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range ents {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name()))
		if err != nil || !strings.HasPrefix(target, dir+"/") {
			continue // closed meanwhile, or not a file of dir
		}
		b, err := os.ReadFile(filepath.Join("/proc/self/fdinfo", e.Name()))
		if err != nil {
			continue
		}
		var flags uint32
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "flags:"); ok {
				fmt.Sscanf(strings.TrimSpace(v), "%o", &flags)
			}
		}
		if flags&0o10000000 == 0 { // O_PATH
			n++
		}
	}
	return n
}
