package dev_test

import (
	"errors"
	"testing"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/fs/dev"
	"bulwark.dev/pkg/fs/tmpfs"
	"bulwark.dev/pkg/kernel/auth"
	"bulwark.dev/pkg/vfs"
)

func TestDevices(t *testing.T) {
	ctx := vfs.BackgroundContext(auth.NewRootCredentials())
	ns, err := vfs.NewMountNamespace(tmpfs.New(tmpfs.Options{}), vfs.MountOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d, err := dev.New()
	if err != nil {
		t.Fatal(err)
	}
	if err := ns.Mount("/dev", d, vfs.MountOptions{}); err != nil {
		t.Fatal(err)
	}
	fs, _ := ns.NewFSContext("/", 0)
	open := func(p string, fl uint32) *vfs.File {
		f, err := vfs.OpenAt(ctx, fs, nil, p, fl, 0)
		if err != nil {
			t.Fatalf("open %s: %v", p, err)
		}
		return f
	}
	buf := []byte{1, 2, 3}
	if n, err := open("/dev/null", linux.O_RDWR).Read(ctx, buf); n != 0 || err != nil {
		t.Fatalf("null read %d %v", n, err)
	}
	if n, _ := open("/dev/null", linux.O_WRONLY).Write(ctx, buf); n != 3 {
		t.Fatalf("null write %d", n)
	}
	if n, _ := open("/dev/zero", 0).Read(ctx, buf); n != 3 || buf[0] != 0 || buf[2] != 0 {
		t.Fatalf("zero %d %v", n, buf)
	}
	if _, err := open("/dev/full", linux.O_WRONLY).Write(ctx, buf); !errors.Is(err, linux.ENOSPC) {
		t.Fatalf("full: %v", err)
	}
	big := make([]byte, 64)
	if n, _ := open("/dev/urandom", 0).Read(ctx, big); n != 64 {
		t.Fatalf("urandom %d", n)
	}
	if _, err := vfs.OpenAt(ctx, fs, nil, "/dev/tty", linux.O_RDWR, 0); !errors.Is(err, linux.ENXIO) {
		t.Fatalf("tty: %v", err)
	}
	st, err := vfs.StatAt(ctx, fs, nil, "/dev/null", 0)
	if err != nil || st.Mode&linux.S_IFMT != linux.S_IFCHR || st.RdevMajor != 1 || st.RdevMinor != 3 {
		t.Fatalf("stat null %+v %v", st, err)
	}
	if tgt, _ := vfs.ReadlinkAt(ctx, fs, nil, "/dev/stdout"); tgt != "/proc/self/fd/1" {
		t.Fatalf("stdout -> %q", tgt)
	}
	for _, p := range []string{"/dev/pts", "/dev/shm"} {
		if st, err := vfs.StatAt(ctx, fs, nil, p, 0); err != nil || st.Mode&linux.S_IFMT != linux.S_IFDIR {
			t.Fatalf("%s: %v", p, err)
		}
	}
	// /dev stays writable (mkfifo in /dev/shm works).
	if err := vfs.MknodAt(ctx, fs, nil, "/dev/shm/fifo", linux.S_IFIFO|0o600, 0); err != nil {
		t.Fatal(err)
	}
}
