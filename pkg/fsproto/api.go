// Package fsproto is the gofer wire protocol: messages exchanged over one
// SOCK_SEQPACKET socketpair per mount, the client half used by the sandbox's
// gofer filesystem and the server half used by the gofer, with host fds
// donated by SCM_RIGHTS.
//
// CONTRACT (lead): Client's exported API is used by pkg/fs/gofer. The gofer
// work owns this package and must keep these signatures.
package fsproto

// FID names a file the server holds open (an O_PATH fd on its side). FID 0
// is never valid.
type FID uint64

// Attr is a file's attributes.
type Attr struct {
	Mode    uint32 // S_IFMT type bits | permission bits
	UID     uint32
	GID     uint32
	Nlink   uint64
	Size    uint64
	Blocks  uint64
	BlkSize uint32
	Ino     uint64
	Dev     uint64
	Rdev    uint64
	Atime   int64 // unix nanoseconds
	Mtime   int64
	Ctime   int64
}

// Dirent is one directory entry.
type Dirent struct {
	Name string
	Ino  uint64
	Type uint8 // DT_*
}

// SetAttrMask selects the fields SetAttr changes.
type SetAttrMask uint32

// SetAttr fields.
const (
	SetMode SetAttrMask = 1 << iota
	SetUID
	SetGID
	SetSize
	SetAtime
	SetMtime
)

// SetAttrRequest is a setattr (chmod, chown, truncate, utimes).
type SetAttrRequest struct {
	Mask         SetAttrMask
	Mode         uint32
	UID, GID     uint32
	Size         uint64
	Atime, Mtime int64 // unix nanoseconds
}

// Client is the sandbox half of one mount's connection. Safe for concurrent
// use. Errors from the server are linux.Errno values.
type Client struct{ _ int }

// NewClient wraps a connected SOCK_SEQPACKET fd (the client takes ownership).
func NewClient(fd int) (*Client, error) { panic("unimplemented") }

// Close closes the connection.
func (c *Client) Close() error { panic("unimplemented") }

// Attach returns the mount's root.
func (c *Client) Attach() (FID, Attr, error) { panic("unimplemented") }

// Walk looks up one path component name (never "/" inside, never ".."
// beyond the root: the server refuses) in directory dir and does not
// follow a symlink at name.
func (c *Client) Walk(dir FID, name string) (FID, Attr, error) { panic("unimplemented") }

// WalkParent returns dir's parent (the root's parent is the root).
func (c *Client) WalkParent(dir FID) (FID, Attr, error) { panic("unimplemented") }

// Stat returns fresh attributes.
func (c *Client) Stat(f FID) (Attr, error) { panic("unimplemented") }

// Open opens f with open(2) flags (O_RDONLY/O_WRONLY/O_RDWR, O_TRUNC,
// O_APPEND; never O_CREAT) and returns the donated host fd.
func (c *Client) Open(f FID, flags uint32) (int, error) { panic("unimplemented") }

// Readdir lists a directory (without "." and "..").
func (c *Client) Readdir(dir FID) ([]Dirent, error) { panic("unimplemented") }

// Readlink returns a symlink's target.
func (c *Client) Readlink(f FID) (string, error) { panic("unimplemented") }

// Create creates and opens a regular file name in dir (O_EXCL semantics).
func (c *Client) Create(dir FID, name string, flags, mode, uid, gid uint32) (FID, Attr, int, error) {
	panic("unimplemented")
}

// Mkdir creates a directory.
func (c *Client) Mkdir(dir FID, name string, mode, uid, gid uint32) (FID, Attr, error) {
	panic("unimplemented")
}

// Mknod creates a FIFO or socket node (other types: EPERM).
func (c *Client) Mknod(dir FID, name string, mode, uid, gid uint32) (FID, Attr, error) {
	panic("unimplemented")
}

// Symlink creates name in dir pointing at target.
func (c *Client) Symlink(dir FID, name, target string, uid, gid uint32) (FID, Attr, error) {
	panic("unimplemented")
}

// Link creates a hard link name in dir to target.
func (c *Client) Link(dir FID, name string, target FID) (Attr, error) { panic("unimplemented") }

// Unlink removes name from dir; flags may hold AT_REMOVEDIR.
func (c *Client) Unlink(dir FID, name string, flags uint32) error { panic("unimplemented") }

// Rename renames oldDir/oldName to newDir/newName.
func (c *Client) Rename(oldDir FID, oldName string, newDir FID, newName string) error {
	panic("unimplemented")
}

// SetAttr changes attributes.
func (c *Client) SetAttr(f FID, req SetAttrRequest) error { panic("unimplemented") }

// StatFS returns filesystem statistics (statfs(2) fields as the server's).
func (c *Client) StatFS(f FID) (StatFS, error) { panic("unimplemented") }

// StatFS is the part of struct statfs the protocol carries.
type StatFS struct {
	Type, BlockSize, Blocks, BlocksFree, BlocksAvail, Files, FilesFree, NameLen uint64
}

// Release tells the server to close f.
func (c *Client) Release(f FID) error { panic("unimplemented") }
