package vfs_test

import (
	"testing"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/vfs"
)

// swapDir is a directory whose entries change behind the VFS's back, as a
// shared host directory's do; Valid tells the VFS which cached ones did.
type swapDir struct {
	vfs.DirInode // a static directory, for Stat, Open and Readdir
	files        map[string]vfs.Inode
	lookups      int
}

func (d *swapDir) Lookup(_ vfs.Context, name string) (vfs.Inode, error) {
	d.lookups++
	if in, ok := d.files[name]; ok {
		return in, nil
	}
	return nil, linux.ENOENT
}

func (d *swapDir) Valid(_ vfs.Context, name string, child vfs.Inode) bool {
	return d.files[name] == child
}

func TestRevalidate(t *testing.T) {
	ns, fs, ctx := setup(t)
	dir := &swapDir{
		DirInode: vfs.NewStaticDir(0o755, nil),
		files: map[string]vfs.Inode{
			"a":   vfs.NewStaticFile(0o444, []byte("one")),
			"sub": vfs.NewStaticDir(0o755, nil),
		},
	}
	must(t, ns.Mount("/m", vfs.NewSyntheticFS("shared", 0, dir), vfs.MountOptions{}))
	must(t, ns.Mount("/m/sub", vfs.NewSyntheticFS("inner", 0, vfs.NewStaticDir(0o755, []vfs.Entry{
		{Name: "x", Inode: vfs.NewStaticFile(0o444, []byte("mounted"))},
	})), vfs.MountOptions{}))

	if got := readFile(t, ctx, fs, "/m/a"); got != "one" {
		t.Fatalf("read %q, want one", got)
	}
	before := dir.lookups
	if got := readFile(t, ctx, fs, "/m/a"); got != "one" || dir.lookups != before {
		t.Fatalf("unchanged: read %q with %d more lookups, want one from the cache", got, dir.lookups-before)
	}
	dir.files["a"] = vfs.NewStaticFile(0o444, []byte("two"))
	if got := readFile(t, ctx, fs, "/m/a"); got != "two" {
		t.Errorf("after the swap: read %q, want two", got)
	}
	delete(dir.files, "a")
	_, err := vfs.StatAt(ctx, fs, nil, "/m/a", 0)
	wantErr(t, err, linux.ENOENT)

	// A mount point stays where it is whatever its directory says.
	dir.files["sub"] = vfs.NewStaticDir(0o755, nil)
	if got := readFile(t, ctx, fs, "/m/sub/x"); got != "mounted" {
		t.Errorf("through the mount point: read %q, want mounted", got)
	}
}
