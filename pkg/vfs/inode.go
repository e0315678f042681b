package vfs

import (
	"sync/atomic"

	"bulwark.dev/pkg/abi/linux"
)

// Filesystem is one instance of a filesystem (a superblock). It can be
// mounted once or several times.
type Filesystem interface {
	// Name is the filesystem type shown in /proc/mounts, e.g. "tmpfs".
	Name() string
	// Root returns the root directory.
	Root() Inode
	// StatFS returns statfs(2) information.
	StatFS(ctx Context) (linux.Statfs, error)
}

// Attr are an inode's attributes. Mode holds the S_IF* type bits and the
// permission bits.
type Attr struct {
	Mode    uint32
	UID     uint32
	GID     uint32
	Nlink   uint32
	Size    int64
	Blocks  int64 // 512-byte blocks
	BlkSize uint32
	Ino     uint64
	Dev     uint32 // device of the filesystem (MakeDev); 0: the VFS assigns one per Filesystem
	Rdev    uint32 // device a device file stands for (MakeDev)
	Atime   linux.Timespec
	Mtime   linux.Timespec
	Ctime   linux.Timespec
}

// Type returns the S_IF* bits of the mode.
func (a Attr) Type() uint32 { return a.Mode & linux.S_IFMT }

// MakeDev packs a device number the way the kernel's new_encode_dev does.
func MakeDev(major, minor uint32) uint32 {
	return (minor & 0xff) | (major&0xfff)<<8 | (minor&^0xff)<<12
}

// DevMajor and DevMinor unpack a device number made by MakeDev.
func DevMajor(dev uint32) uint32 { return (dev >> 8) & 0xfff }

// DevMinor returns the minor part of dev.
func DevMinor(dev uint32) uint32 { return (dev & 0xff) | (dev>>12)&^0xff }

var nextIno atomic.Uint64

// NewIno returns a fresh inode number, unique in the sandbox. Filesystems
// without numbers of their own (synthetic, pipes) use it.
func NewIno() uint64 { return nextIno.Add(1) + 1 }

// Inode is a file of a filesystem. The VFS keeps dentries (names) above
// inodes; a hard-linked inode has several dentries.
//
// Besides these methods an inode implements the optional interfaces that
// apply to it: DirInode (directories), DirWriter (writable directories),
// SymlinkInode, SetAttrer, CachedAttrer, Dynamic.
type Inode interface {
	// Stat returns fresh attributes.
	Stat(ctx Context) (Attr, error)
	// Open opens the inode (never a symlink, never with O_PATH) with open(2)
	// flags; O_CREAT, O_EXCL and O_TRUNC have been handled by the VFS.
	// Directories may return NoFile{}: the VFS reads them with Readdir.
	Open(ctx Context, flags uint32) (FileImpl, error)
}

// Dirent is one directory entry as Readdir returns it.
type Dirent struct {
	Name string
	Ino  uint64
	Type uint8 // linux.DT_*
}

// DirInode is implemented by directories.
type DirInode interface {
	Inode
	// Lookup returns the child name (never "." or ".."), or linux.ENOENT.
	Lookup(ctx Context, name string) (Inode, error)
	// Readdir lists the directory without "." and "..".
	Readdir(ctx Context) ([]Dirent, error)
}

// Revalidator is implemented by directories whose entries may change
// behind the sandbox's back (a filesystem the host shares). Before a path
// walk uses a cached child, the VFS asks Valid whether name still names
// child; if not, the child is dropped from the cache (open files keep it)
// and name is looked up again. Mount points are never revalidated.
type Revalidator interface {
	Valid(ctx Context, name string, child Inode) bool
}

// CreateOpts describe a new file: permission bits (umask applied), type
// bits for Mknod, the owner and the device for Mknod.
type CreateOpts struct {
	Mode     uint32
	UID, GID uint32
	Rdev     uint32
}

// DirWriter is implemented by directories that can be changed. The VFS has
// checked permissions, that name is valid, and existence (Create, Mkdir,
// Mknod, Symlink and Link are only called when name does not exist; Unlink
// and Rmdir only when it does, with the right type).
type DirWriter interface {
	// Create creates a regular file and opens it with flags.
	Create(ctx Context, name string, flags uint32, opts CreateOpts) (Inode, FileImpl, error)
	// Mkdir creates a directory.
	Mkdir(ctx Context, name string, opts CreateOpts) (Inode, error)
	// Mknod creates a FIFO, socket or device node (opts.Mode has the type).
	Mknod(ctx Context, name string, opts CreateOpts) (Inode, error)
	// Symlink creates a symbolic link.
	Symlink(ctx Context, name, target string, opts CreateOpts) (Inode, error)
	// Link creates a hard link to target, an inode of the same filesystem
	// (linux.EXDEV otherwise).
	Link(ctx Context, name string, target Inode) error
	// Unlink removes a non-directory entry.
	Unlink(ctx Context, name string) error
	// Rmdir removes an empty directory (linux.ENOTEMPTY otherwise).
	Rmdir(ctx Context, name string) error
	// Rename moves oldName to newDir/newName (newDir is a directory of the
	// same filesystem), replacing a compatible existing entry; the VFS has
	// checked types (dir over dir, non-dir over non-dir) and loops.
	Rename(ctx Context, oldName string, newDir Inode, newName string) error
}

// SymlinkInode is implemented by symbolic links.
type SymlinkInode interface {
	Inode
	Readlink(ctx Context) (string, error)
}

// SetAttrMask selects the fields of a SetAttr request.
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

// SetAttrRequest changes attributes (chmod, chown, truncate, utimes).
// Permission checks were done by the VFS.
type SetAttrRequest struct {
	Mask         SetAttrMask
	Mode         uint32 // permission bits only
	UID, GID     uint32
	Size         int64
	Atime, Mtime linux.Timespec
	// TimesNow says both times are being set to the current time
	// (utimensat with NULL or UTIME_NOW): write permission suffices.
	// Filesystems ignore it.
	TimesNow bool
}

// SetAttrer is implemented by inodes whose attributes can change. Without
// it chmod and friends fail with linux.EPERM.
type SetAttrer interface {
	SetAttr(ctx Context, req SetAttrRequest) error
}

// CachedAttrer is implemented by inodes whose Stat does I/O (remote
// filesystems). CachedAttr returns the last known attributes without I/O;
// the VFS uses it for permission checks and file types during path walks.
type CachedAttrer interface {
	CachedAttr() Attr
}

// Dynamic is implemented by directories whose entries change without going
// through the VFS (such as /proc): the VFS does not cache their children
// and asks Lookup every time. Nothing can be mounted below them.
type Dynamic interface {
	Dynamic() bool
}

// FileImpl is a filesystem's side of an open file description. Read and
// Write get the file position (ignored by stream files such as pipes); the
// VFS advances it.
type FileImpl interface {
	Read(ctx Context, f *File, dst []byte, off int64) (int, error)
	Write(ctx Context, f *File, src []byte, off int64) (int, error)
	// Release is called when the last reference to the File is dropped.
	Release()
}

// PositionOwner is implemented by files whose position is kept elsewhere
// (a host file description shared with other processes). Read and Write at
// the current position go to ReadCurrent and WriteCurrent, and the VFS
// keeps no offset and takes no position lock for them; FileImpl's Read and
// Write then only serve explicit offsets (pread, pwrite, mmap). Such a
// file also implements Seeker.
type PositionOwner interface {
	ReadCurrent(ctx Context, f *File, dst []byte) (int, error)
	WriteCurrent(ctx Context, f *File, src []byte) (int, error)
}

// Seeker is implemented by files with their own lseek(2) rules (ESPIPE
// for ttys, for example). Other files get the generic rules: FIFOs and
// sockets fail with ESPIPE, others move the position (SEEK_END uses Size).
type Seeker interface {
	Seek(ctx Context, f *File, offset int64, whence int) (int64, error)
}

// Ioctler is implemented by files that handle ioctl(2). Others get
// linux.ENOTTY (the generic FIONBIO, FIOCLEX and FIONCLEX are handled by
// the syscall layer).
type Ioctler interface {
	Ioctl(ctx Context, f *File, cmd uint32, arg uintptr) (uintptr, error)
}

// Syncer is implemented by files with something to flush for fsync(2).
type Syncer interface {
	Sync(ctx Context) error
}

// StatusFlagsSetter is implemented by files that must know when F_SETFL
// changes O_NONBLOCK or O_APPEND.
type StatusFlagsSetter interface {
	SetStatusFlags(flags uint32) error
}

// Waiter is implemented by files that poll(2) can wait on. Files without
// it are always readable and writable.
type Waiter interface {
	// Readiness returns the subset of mask (linux POLL* bits) that is ready.
	Readiness(mask uint32) uint32
	// Notify returns a channel closed at the next change of readiness.
	Notify() <-chan struct{}
}

// NoFile is a FileImpl for files whose data is not read through the file
// (directories, O_PATH files): Read and Write fail with linux.EISDIR.
type NoFile struct{}

// Read implements FileImpl.
func (NoFile) Read(Context, *File, []byte, int64) (int, error) { return 0, linux.EISDIR }

// Write implements FileImpl.
func (NoFile) Write(Context, *File, []byte, int64) (int, error) { return 0, linux.EISDIR }

// Release implements FileImpl.
func (NoFile) Release() {}

// stat returns the attributes used by walks and permission checks: the
// cached ones when the inode has them.
func cachedStat(ctx Context, in Inode) (Attr, error) {
	if c, ok := in.(CachedAttrer); ok {
		return c.CachedAttr(), nil
	}
	return in.Stat(ctx)
}

func isDynamic(in Inode) bool {
	d, ok := in.(Dynamic)
	return ok && d.Dynamic()
}
