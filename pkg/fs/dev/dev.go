// Package dev builds the sandbox's /dev: a tmpfs holding the memory
// devices (null, zero, full, random, urandom), tty, the fd/stdin/stdout/
// stderr symlinks and the pts and shm directories.
package dev

import (
	"crypto/rand"
	"fmt"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/fs/tmpfs"
	"bulwark.dev/pkg/kernel/auth"
	"bulwark.dev/pkg/vfs"
)

// Device numbers.
var (
	Null    = vfs.MakeDev(1, 3)
	Zero    = vfs.MakeDev(1, 5)
	Full    = vfs.MakeDev(1, 7)
	Random  = vfs.MakeDev(1, 8)
	URandom = vfs.MakeDev(1, 9)
	TTY     = vfs.MakeDev(linux.TTYAUX_MAJOR, 0) // opened by pkg/fs/devpts
)

func init() {
	vfs.RegisterCharDevice(Null, func(vfs.Context, uint32) (vfs.FileImpl, error) { return nullDev{}, nil })
	vfs.RegisterCharDevice(Zero, func(vfs.Context, uint32) (vfs.FileImpl, error) { return zeroDev{}, nil })
	vfs.RegisterCharDevice(Full, func(vfs.Context, uint32) (vfs.FileImpl, error) { return fullDev{}, nil })
	vfs.RegisterCharDevice(Random, func(vfs.Context, uint32) (vfs.FileImpl, error) { return randomDev{}, nil })
	vfs.RegisterCharDevice(URandom, func(vfs.Context, uint32) (vfs.FileImpl, error) { return randomDev{}, nil })
}

// New returns a /dev filesystem (a tmpfs, so it stays writable like
// Linux's devtmpfs).
func New() (*tmpfs.FS, error) {
	fs := tmpfs.New(tmpfs.Options{Mode: 0o755})
	ctx := vfs.BackgroundContext(auth.NewRootCredentials())
	root := fs.RootDir()
	nodes := []struct {
		name string
		rdev uint32
	}{
		{"null", Null}, {"zero", Zero}, {"full", Full}, {"random", Random},
		{"urandom", URandom}, {"tty", TTY},
	}
	for _, n := range nodes {
		if _, err := root.Mknod(ctx, n.name, vfs.CreateOpts{Mode: linux.S_IFCHR | 0o666, Rdev: n.rdev}); err != nil {
			return nil, fmt.Errorf("creating /dev/%s: %w", n.name, err)
		}
	}
	links := [][2]string{
		{"fd", "/proc/self/fd"}, {"stdin", "/proc/self/fd/0"},
		{"stdout", "/proc/self/fd/1"}, {"stderr", "/proc/self/fd/2"},
		{"ptmx", "pts/ptmx"},
	}
	for _, l := range links {
		if _, err := root.Symlink(ctx, l[0], l[1], vfs.CreateOpts{}); err != nil {
			return nil, fmt.Errorf("creating /dev/%s: %w", l[0], err)
		}
	}
	for _, d := range []struct {
		name string
		mode uint32
	}{{"pts", 0o755}, {"shm", 0o1777}} {
		if _, err := root.Mkdir(ctx, d.name, vfs.CreateOpts{Mode: linux.S_IFDIR | d.mode}); err != nil {
			return nil, fmt.Errorf("creating /dev/%s: %w", d.name, err)
		}
	}
	return fs, nil
}

type nullDev struct{}

func (nullDev) Read(vfs.Context, *vfs.File, []byte, int64) (int, error)          { return 0, nil }
func (nullDev) Write(_ vfs.Context, _ *vfs.File, s []byte, _ int64) (int, error) { return len(s), nil }
func (nullDev) Release()                                                         {}

type zeroDev struct{}

func (zeroDev) Read(_ vfs.Context, _ *vfs.File, d []byte, _ int64) (int, error) {
	clear(d)
	return len(d), nil
}
func (zeroDev) Write(_ vfs.Context, _ *vfs.File, s []byte, _ int64) (int, error) { return len(s), nil }
func (zeroDev) Release()                                                         {}

type fullDev struct{ zeroDev }

func (fullDev) Write(vfs.Context, *vfs.File, []byte, int64) (int, error) { return 0, linux.ENOSPC }

type randomDev struct{}

func (randomDev) Read(_ vfs.Context, _ *vfs.File, d []byte, _ int64) (int, error) {
	return rand.Read(d)
}
func (randomDev) Write(_ vfs.Context, _ *vfs.File, s []byte, _ int64) (int, error) {
	return len(s), nil
}
func (randomDev) Release() {}
