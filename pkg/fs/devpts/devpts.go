// Package devpts is a minimal devpts filesystem for /dev/pts: a directory
// (mode 0755) holding only the ptmx node (char 5:2), reported with the type
// name "devpts" and devpts's statfs magic. Pseudo-terminals do not live
// here yet.
package devpts

import (
	"fmt"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/fs/tmpfs"
	"bulwark.dev/pkg/kernel/auth"
	"bulwark.dev/pkg/vfs"
)

// Magic is DEVPTS_SUPER_MAGIC, the statfs type of devpts.
const Magic = 0x1cd1

// FS is one devpts instance.
type FS struct {
	*tmpfs.FS
}

// PTMX is the device number of ptmx.
var PTMX = vfs.MakeDev(5, 2)

// New returns a devpts whose ptmx node has permissions ptmxMode.
func New(ptmxMode uint32) (*FS, error) {
	fs := &FS{tmpfs.New(tmpfs.Options{Mode: 0o755})}
	ctx := vfs.BackgroundContext(auth.NewRootCredentials())
	opts := vfs.CreateOpts{Mode: linux.S_IFCHR | ptmxMode&linux.PermMask, Rdev: PTMX}
	if _, err := fs.RootDir().Mknod(ctx, "ptmx", opts); err != nil {
		return nil, fmt.Errorf("devpts: creating ptmx: %w", err)
	}
	return fs, nil
}

// Name implements vfs.Filesystem.
func (*FS) Name() string { return "devpts" }

// StatFS implements vfs.Filesystem.
func (fs *FS) StatFS(ctx vfs.Context) (linux.Statfs, error) {
	st, err := fs.FS.StatFS(ctx)
	st.Type = Magic
	return st, err
}
