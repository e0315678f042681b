package tmpfs_test

import (
	"errors"
	"testing"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/fs/tmpfs"
	"bulwark.dev/pkg/kernel/auth"
	"bulwark.dev/pkg/vfs"
)

var ctx = vfs.BackgroundContext(auth.NewRootCredentials())

func TestDirectoryLinksAndRename(t *testing.T) {
	fs := tmpfs.New(tmpfs.Options{})
	root := fs.RootDir()
	a, _ := root.Stat(ctx)
	if a.Mode != linux.S_IFDIR|0o1777 || a.Nlink != 2 {
		t.Fatalf("root %o nlink %d", a.Mode, a.Nlink)
	}
	sub, err := root.Mkdir(ctx, "sub", vfs.CreateOpts{Mode: linux.S_IFDIR | 0o755})
	if err != nil {
		t.Fatal(err)
	}
	if a, _ := root.Stat(ctx); a.Nlink != 3 {
		t.Fatalf("nlink after mkdir %d", a.Nlink)
	}
	f, impl, err := root.Create(ctx, "f", linux.O_RDWR, vfs.CreateOpts{Mode: linux.S_IFREG | 0o644})
	if err != nil {
		t.Fatal(err)
	}
	impl.Write(ctx, nil, []byte("abc"), 0)
	if err := sub.(*tmpfs.Dir).Link(ctx, "hard", f); err != nil {
		t.Fatal(err)
	}
	if a, _ := f.Stat(ctx); a.Nlink != 2 || a.Size != 3 {
		t.Fatalf("file nlink %d size %d", a.Nlink, a.Size)
	}
	if err := root.Rmdir(ctx, "sub"); !errors.Is(err, linux.ENOTEMPTY) {
		t.Fatalf("rmdir: %v", err)
	}
	if err := root.Rename(ctx, "f", sub, "hard"); err != nil {
		t.Fatal(err)
	}
	// POSIX: renaming onto another link of the same file does nothing.
	if a, _ := f.Stat(ctx); a.Nlink != 2 {
		t.Fatalf("rename over own hard link: nlink %d", a.Nlink)
	}
	if _, err := root.Lookup(ctx, "f"); err != nil {
		t.Fatalf("old name gone: %v", err)
	}
	if err := root.Unlink(ctx, "f"); err != nil {
		t.Fatal(err)
	}
	if a, _ := f.Stat(ctx); a.Nlink != 1 {
		t.Fatalf("after unlink: nlink %d", a.Nlink)
	}
	if err := f.(*tmpfs.File).SetAttr(ctx, vfs.SetAttrRequest{Mask: vfs.SetSize, Size: 1}); err != nil {
		t.Fatal(err)
	}
	if got := string(f.(*tmpfs.File).Data()); got != "a" {
		t.Fatalf("after truncate %q", got)
	}
	st, _ := fs.StatFS(ctx)
	if st.Type != linux.TMPFS_MAGIC || st.Bfree == 0 {
		t.Fatalf("statfs %+v", st)
	}
}
