// Package vfs is the sandbox kernel's virtual filesystem: the mount tree,
// dentries, path resolution, open file descriptions and fd tables.
//
// CONTRACT (lead): the exported names in this file are used by pkg/kernel,
// pkg/syscalls, pkg/fs/... and boot. Their owner (the vfs work) implements
// them and may add more, but must keep these signatures.
package vfs

import (
	"bulwark.dev/pkg/abi/linux"
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

// File is an open file description, shared by dup'd fds and across fork.
// It is reference counted.
type File struct{ _ int }

// IncRef takes a reference.
func (f *File) IncRef() { panic("unimplemented") }

// DecRef drops a reference; the last one releases the file.
func (f *File) DecRef() { panic("unimplemented") }

// Read reads at the file offset and advances it.
func (f *File) Read(ctx Context, dst []byte) (int, error) { panic("unimplemented") }

// Write writes at the file offset (or the end with O_APPEND) and advances it.
func (f *File) Write(ctx Context, src []byte) (int, error) { panic("unimplemented") }

// PRead reads at off without moving the offset (used by the ELF loader).
func (f *File) PRead(ctx Context, dst []byte, off int64) (int, error) { panic("unimplemented") }

// Stat returns the file's attributes.
func (f *File) Stat(ctx Context) (linux.Statx, error) { panic("unimplemented") }

// PathName is the file's absolute path in the sandbox's mount tree, or a
// name such as "pipe:[1234]" for files that have none.
func (f *File) PathName() string { panic("unimplemented") }

// FDFlags are per-fd (not per-description) flags.
type FDFlags struct {
	CloseOnExec bool
}

// FDTable maps fd numbers to files. Safe for concurrent use.
type FDTable struct{ _ int }

// NewFDTable returns an empty table.
func NewFDTable() *FDTable { panic("unimplemented") }

// Fork returns a copy sharing the same files (each gets a reference).
func (t *FDTable) Fork() *FDTable { panic("unimplemented") }

// Get returns the file at fd with a new reference, or linux.EBADF.
func (t *FDTable) Get(fd int32) (*File, FDFlags, error) { panic("unimplemented") }

// NewFD installs f at the lowest free fd >= min (taking a reference).
func (t *FDTable) NewFD(min int32, f *File, flags FDFlags) (int32, error) { panic("unimplemented") }

// NewFDAt installs f at fd, closing what was there (dup2 semantics).
func (t *FDTable) NewFDAt(fd int32, f *File, flags FDFlags) error { panic("unimplemented") }

// Remove removes fd and returns its file (the caller drops the reference).
func (t *FDTable) Remove(fd int32) (*File, error) { panic("unimplemented") }

// CloseOnExec closes every fd marked close-on-exec.
func (t *FDTable) CloseOnExec() { panic("unimplemented") }

// FDs returns the open fd numbers in ascending order.
func (t *FDTable) FDs() []int32 { panic("unimplemented") }

// Release closes every fd.
func (t *FDTable) Release() { panic("unimplemented") }

// FSContext is a task's root, working directory and umask (CLONE_FS unit).
type FSContext struct{ _ int }

// Fork returns an independent copy.
func (fs *FSContext) Fork() *FSContext { panic("unimplemented") }

// Release drops the references the context holds.
func (fs *FSContext) Release() { panic("unimplemented") }

// Umask returns the file mode creation mask.
func (fs *FSContext) Umask() uint32 { panic("unimplemented") }

// SetUmask sets the mask and returns the old one.
func (fs *FSContext) SetUmask(mask uint32) uint32 { panic("unimplemented") }

// WorkingDirectory returns the absolute path of the cwd.
func (fs *FSContext) WorkingDirectory() string { panic("unimplemented") }

// OpenAt opens path relative to dir (nil: the working directory of fs; an
// absolute path starts at fs's root) with open(2) flags and mode, following
// symlinks in the sandbox's own mount tree.
func OpenAt(ctx Context, fs *FSContext, dir *File, path string, flags uint32, mode uint32) (*File, error) {
	panic("unimplemented")
}
