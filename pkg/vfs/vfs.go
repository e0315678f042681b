// Package vfs is the sandbox kernel's virtual filesystem: the mount tree,
// dentries, path resolution, open file descriptions and fd tables.
//
// Filesystems (pkg/fs/...) implement Filesystem and Inode (plus the optional
// interfaces in inode.go); synthetic.go has helpers for filesystems whose
// content is computed (/proc). The VFS owns the dentry tree, mounts,
// permission checks and path walking; boot builds a MountNamespace with
// NewMountNamespace and Mount, then FSContexts with NewFSContext.
package vfs

import (
	"bulwark.dev/pkg/kernel/auth"
)

// Context is what a file operation needs from the calling task. *kernel.Task
// implements it.
type Context interface {
	// Block waits until ch is readable (or closed). It returns nil then, or
	// linux.ERESTARTSYS if a signal interrupted the wait.
	Block(ch <-chan struct{}) error
	// Credentials are the caller's credentials.
	Credentials() *auth.Credentials
	// CopyIn and CopyOut move bytes between the caller's address space and
	// the sandbox kernel (ioctl arguments); they fail with linux.EFAULT.
	CopyIn(addr uintptr, dst []byte) (int, error)
	CopyOut(addr uintptr, src []byte) (int, error)
}
