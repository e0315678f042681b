package vfs_test

import (
	"testing"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/fs/pipe"
	"bulwark.dev/pkg/vfs"
)

// magic is a test magic link to a file.
type magic struct {
	*vfs.FuncSymlink
	f *vfs.File
}

func (m magic) Follow(vfs.Context) (vfs.Location, error) { return vfs.FileLocation(m.f), nil }

func newMagic(f *vfs.File) magic {
	return magic{vfs.NewFuncSymlink(func(vfs.Context) (string, error) { return f.LinkName(), nil }), f}
}

func TestMagicLinkPipe(t *testing.T) {
	ns, fs, ctx := setup(t)
	r, w := pipe.NewPair(ctx, 0)
	defer r.DecRef()
	defer w.DecRef()
	root := vfs.NewStaticDir(0o555, []vfs.Entry{{Name: "r", Inode: newMagic(r)}, {Name: "w", Inode: newMagic(w)}})
	must(t, ns.Mount("/fd", vfs.NewSyntheticFS("magic", 1, root), vfs.MountOptions{}))

	// readlink gives the text, the walk gives the pipe itself.
	text, err := vfs.ReadlinkAt(ctx, fs, nil, "/fd/r")
	must(t, err)
	if text != r.LinkName() || text[:6] != "pipe:[" {
		t.Errorf("readlink = %q, want %q", text, r.LinkName())
	}
	st, err := vfs.StatAt(ctx, fs, nil, "/fd/r", 0)
	must(t, err)
	if st.Mode&linux.S_IFMT != linux.S_IFIFO {
		t.Errorf("stat through the link: mode %#o, want a FIFO", st.Mode)
	}

	// Open the read end again, write through the original write end.
	r2, err := vfs.OpenAt(ctx, fs, nil, "/fd/r", linux.O_RDONLY, 0)
	must(t, err)
	defer r2.DecRef()
	if _, err := w.Write(ctx, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	n, err := r2.Read(ctx, buf)
	must(t, err)
	if string(buf[:n]) != "hello" {
		t.Errorf("read %q through the reopened pipe", buf[:n])
	}
	if r2.LinkName() != r.LinkName() {
		t.Errorf("reopened pipe is named %q, want %q", r2.LinkName(), r.LinkName())
	}

	// The write end opened through the link (with a new access mode).
	w2, err := vfs.OpenAt(ctx, fs, nil, "/fd/w", linux.O_WRONLY, 0)
	must(t, err)
	if _, err := w2.Write(ctx, []byte("x")); err != nil {
		t.Fatal(err)
	}
	w2.DecRef()
	n, err = r.Read(ctx, buf)
	must(t, err)
	if string(buf[:n]) != "x" {
		t.Errorf("read %q, want \"x\"", buf[:n])
	}

	// O_CREAT through the link (tee /dev/stdout, open("/dev/stdout", "w"))
	// opens the pipe too instead of creating a file named "pipe:[N]".
	w3, err := vfs.OpenAt(ctx, fs, nil, "/fd/w", linux.O_WRONLY|linux.O_CREAT|linux.O_TRUNC, 0o644)
	must(t, err)
	if _, err := w3.Write(ctx, []byte("y")); err != nil {
		t.Fatal(err)
	}
	w3.DecRef()
	n, err = r.Read(ctx, buf)
	must(t, err)
	if string(buf[:n]) != "y" {
		t.Errorf("read %q after an O_CREAT open through the link, want \"y\"", buf[:n])
	}

	// A magic link to a non-directory cannot be walked through.
	_, err = vfs.OpenAt(ctx, fs, nil, "/fd/r/x", linux.O_RDONLY, 0)
	wantErr(t, err, linux.ENOTDIR)
}

func TestMagicLinkRegularFile(t *testing.T) {
	ns, fs, ctx := setup(t)
	writeFile(t, ctx, fs, "/data", "abc")
	f, err := vfs.OpenAt(ctx, fs, nil, "/data", linux.O_RDONLY, 0)
	must(t, err)
	defer f.DecRef()
	root := vfs.NewStaticDir(0o555, []vfs.Entry{{Name: "3", Inode: newMagic(f)}})
	must(t, ns.Mount("/fd", vfs.NewSyntheticFS("magic", 1, root), vfs.MountOptions{}))
	// Renaming the file does not break the link: it names the file, not a path.
	must(t, vfs.RenameAt(ctx, fs, nil, "/data", nil, "/moved", 0))
	text, err := vfs.ReadlinkAt(ctx, fs, nil, "/fd/3")
	must(t, err)
	if text != "/moved" {
		t.Errorf("readlink = %q, want /moved", text)
	}
	w, err := vfs.OpenAt(ctx, fs, nil, "/fd/3", linux.O_WRONLY|linux.O_APPEND, 0)
	must(t, err)
	if _, err := w.Write(ctx, []byte("def")); err != nil {
		t.Fatal(err)
	}
	w.DecRef()
	if got := readFile(t, ctx, fs, "/moved"); got != "abcdef" {
		t.Errorf("file holds %q, want abcdef", got)
	}
}

// hostLike is an anonymous file whose inode cannot be opened again.
type hostLike struct{ data []byte }

func (h *hostLike) Stat(vfs.Context) (vfs.Attr, error) {
	return vfs.Attr{Mode: linux.S_IFCHR | 0o600, Ino: 99}, nil
}
func (h *hostLike) Open(vfs.Context, uint32) (vfs.FileImpl, error) { return nil, linux.ENXIO }
func (h *hostLike) Read(_ vfs.Context, _ *vfs.File, dst []byte, off int64) (int, error) {
	if off >= int64(len(h.data)) {
		return 0, nil
	}
	return copy(dst, h.data[off:]), nil
}
func (h *hostLike) Write(vfs.Context, *vfs.File, []byte, int64) (int, error) { return 0, linux.EBADF }
func (h *hostLike) Release()                                                 {}

func TestMagicLinkSharesUnopenableFile(t *testing.T) {
	ns, fs, ctx := setup(t)
	h := &hostLike{data: []byte("stdin data")}
	f := vfs.NewFile(h, h, linux.O_RDONLY, "host:[0]")
	root := vfs.NewStaticDir(0o555, []vfs.Entry{{Name: "0", Inode: newMagic(f)}})
	must(t, ns.Mount("/fd", vfs.NewSyntheticFS("magic", 1, root), vfs.MountOptions{}))
	buf := make([]byte, 5)
	if n, _ := f.Read(ctx, buf); string(buf[:n]) != "stdin" {
		t.Fatalf("read %q", buf[:n])
	}
	g, err := vfs.OpenAt(ctx, fs, nil, "/fd/0", linux.O_RDONLY, 0)
	must(t, err)
	f.DecRef() // the shared description lives on through g
	// g shares f's position, like dup(2).
	if got := readFile2(t, ctx, g); got != " data" {
		t.Errorf("read %q through the link, want \" data\"", got)
	}
	g.DecRef()
}

func TestMagicLinkPipeWithoutWriter(t *testing.T) {
	ns, fs, ctx := setup(t)
	r, w := pipe.NewPair(ctx, 0)
	defer r.DecRef()
	if _, err := w.Write(ctx, []byte("left")); err != nil {
		t.Fatal(err)
	}
	w.DecRef()
	root := vfs.NewStaticDir(0o555, []vfs.Entry{{Name: "r", Inode: newMagic(r)}})
	must(t, ns.Mount("/fd", vfs.NewSyntheticFS("magic", 1, root), vfs.MountOptions{}))
	// Unlike a FIFO, reopening a pipe does not wait for a writer.
	r2, err := vfs.OpenAt(ctx, fs, nil, "/fd/r", linux.O_RDONLY, 0)
	must(t, err)
	defer r2.DecRef()
	if got := readFile2(t, ctx, r2); got != "left" {
		t.Errorf("read %q, want \"left\" then EOF", got)
	}
}

func readFile2(t *testing.T, ctx vfs.Context, f *vfs.File) string {
	t.Helper()
	var out []byte
	buf := make([]byte, 64)
	for {
		n, err := f.Read(ctx, buf)
		must(t, err)
		if n == 0 {
			return string(out)
		}
		out = append(out, buf[:n]...)
	}
}
