// Package mqueue is a minimal mqueue filesystem for /dev/mqueue: an
// in-memory directory (mode 01777) reported with the type name "mqueue" and
// mqueue's statfs magic. The POSIX message queue syscalls do not use it yet.
package mqueue

import (
	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/fs/tmpfs"
	"bulwark.dev/pkg/vfs"
)

// Magic is MQUEUE_MAGIC, the statfs type of mqueue.
const Magic = 0x19800202

// FS is one mqueue instance.
type FS struct {
	*tmpfs.FS
}

// New returns an empty mqueue filesystem.
func New() *FS {
	return &FS{tmpfs.New(tmpfs.Options{Mode: 0o1777})}
}

// Name implements vfs.Filesystem.
func (*FS) Name() string { return "mqueue" }

// StatFS implements vfs.Filesystem.
func (fs *FS) StatFS(ctx vfs.Context) (linux.Statfs, error) {
	st, err := fs.FS.StatFS(ctx)
	st.Type = Magic
	return st, err
}
