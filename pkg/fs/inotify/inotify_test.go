package inotify

import (
	"encoding/binary"
	"errors"
	"testing"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/vfs"
	"bulwark.dev/pkg/vfs/vfstest"
)

type fakeInode struct{ n int }

func (*fakeInode) Stat(vfs.Context) (vfs.Attr, error)             { return vfs.Attr{}, nil }
func (*fakeInode) Open(vfs.Context, uint32) (vfs.FileImpl, error) { return nil, linux.ENXIO }

func TestQueueReadAndOneshot(t *testing.T) {
	ctx := vfstest.NewContext()
	f, i := NewFile(0)
	defer f.DecRef()
	dir, file := &fakeInode{1}, &fakeInode{2}
	wd1, err := i.AddWatch(dir, linux.IN_CREATE)
	if err != nil {
		t.Fatal(err)
	}
	wd2, _ := i.AddWatch(file, linux.IN_MODIFY|linux.IN_ONESHOT)
	if wd1 == wd2 {
		t.Fatal("same wd for two inodes")
	}
	if again, _ := i.AddWatch(dir, linux.IN_DELETE|linux.IN_MASK_ADD); again != wd1 {
		t.Fatal("re-adding a watch gave a new wd")
	}
	if _, err := i.AddWatch(dir, linux.IN_CREATE|linux.IN_MASK_CREATE); !errors.Is(err, linux.EEXIST) {
		t.Fatalf("IN_MASK_CREATE on existing watch: %v", err)
	}
	sink{i}.Notify(dir, linux.IN_CREATE, 0, "abc")
	sink{i}.Notify(dir, linux.IN_ATTRIB, 0, "abc") // not watched
	sink{i}.Notify(file, linux.IN_MODIFY, 0, "")
	sink{i}.Notify(file, linux.IN_MODIFY, 0, "") // oneshot: watch gone
	if _, err := f.Read(ctx, make([]byte, 20)); !errors.Is(err, linux.EINVAL) {
		t.Fatalf("read into a too small buffer: %v", err)
	}
	buf := make([]byte, 4096)
	n, err := f.Read(ctx, buf)
	if err != nil {
		t.Fatal(err)
	}
	le := binary.LittleEndian
	// CREATE "abc" (16+16), MODIFY (16), IGNORED for the oneshot (16).
	if n != 64 {
		t.Fatalf("read %d bytes", n)
	}
	if le.Uint32(buf[4:]) != linux.IN_CREATE || le.Uint32(buf[12:]) != 16 || string(buf[16:19]) != "abc" || buf[19] != 0 {
		t.Fatalf("first event %v", buf[:32])
	}
	if int32(le.Uint32(buf[32:])) != wd2 || le.Uint32(buf[36:]) != linux.IN_MODIFY || le.Uint32(buf[52:]) != linux.IN_IGNORED {
		t.Fatalf("oneshot events %v", buf[32:64])
	}
	go ctx.Interrupt()
	if _, err := f.Read(ctx, buf); !errors.Is(err, linux.ERESTARTSYS) {
		t.Fatalf("interrupted read: %v", err)
	}
	if _, err := i.AddWatch(dir, linux.IN_ONESHOT); !errors.Is(err, linux.EINVAL) {
		t.Fatalf("mask without events: %v", err)
	}
}
