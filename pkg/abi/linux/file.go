package linux

// Open flags (x86-64 values, octal as in asm-generic/fcntl.h).
const (
	O_RDONLY    = 0x0
	O_WRONLY    = 0x1
	O_RDWR      = 0x2
	O_ACCMODE   = 0x3
	O_CREAT     = 0x40
	O_EXCL      = 0x80
	O_NOCTTY    = 0x100
	O_TRUNC     = 0x200
	O_APPEND    = 0x400
	O_NONBLOCK  = 0x800
	O_DSYNC     = 0x1000
	O_ASYNC     = 0x2000
	O_DIRECT    = 0x4000
	O_LARGEFILE = 0x8000
	O_DIRECTORY = 0x10000
	O_NOFOLLOW  = 0x20000
	O_NOATIME   = 0x40000
	O_CLOEXEC   = 0x80000
	O_SYNC      = 0x101000
	O_PATH      = 0x200000
	O_TMPFILE   = 0x410000
)

// *at(2) flags and the special dirfd.
const (
	AT_FDCWD            = -100
	AT_SYMLINK_NOFOLLOW = 0x100
	AT_REMOVEDIR        = 0x200
	AT_EACCESS          = 0x200
	AT_SYMLINK_FOLLOW   = 0x400
	AT_NO_AUTOMOUNT     = 0x800
	AT_EMPTY_PATH       = 0x1000
	AT_STATX_SYNC_TYPE  = 0x6000
)

// File type and permission bits of a mode.
const (
	S_IFMT   = 0o170000
	S_IFSOCK = 0o140000
	S_IFLNK  = 0o120000
	S_IFREG  = 0o100000
	S_IFBLK  = 0o060000
	S_IFDIR  = 0o040000
	S_IFCHR  = 0o020000
	S_IFIFO  = 0o010000
	S_ISUID  = 0o4000
	S_ISGID  = 0o2000
	S_ISVTX  = 0o1000
	// PermMask is every permission bit including setuid/setgid/sticky.
	PermMask = 0o7777
)

// access(2) modes.
const (
	F_OK = 0
	X_OK = 1
	W_OK = 2
	R_OK = 4
)

// fcntl(2) commands and fd flags.
const (
	F_DUPFD         = 0
	F_GETFD         = 1
	F_SETFD         = 2
	F_GETFL         = 3
	F_SETFL         = 4
	F_GETLK         = 5
	F_SETLK         = 6
	F_SETLKW        = 7
	F_SETOWN        = 8
	F_GETOWN        = 9
	F_SETSIG        = 10
	F_GETSIG        = 11
	F_SETOWN_EX     = 15
	F_GETOWN_EX     = 16
	F_DUPFD_CLOEXEC = 1030
	F_GETPIPE_SZ    = 1032
	F_SETPIPE_SZ    = 1031
	FD_CLOEXEC      = 1
)

// lseek(2) whence values.
const (
	SEEK_SET  = 0
	SEEK_CUR  = 1
	SEEK_END  = 2
	SEEK_DATA = 3
	SEEK_HOLE = 4
)

// renameat2(2) flags.
const (
	RENAME_NOREPLACE = 1
	RENAME_EXCHANGE  = 2
	RENAME_WHITEOUT  = 4
)

// utimensat(2) special nanosecond values.
const (
	UTIME_NOW  = (1 << 30) - 1
	UTIME_OMIT = (1 << 30) - 2
)

// close_range(2) flags.
const (
	CLOSE_RANGE_UNSHARE = 2
	CLOSE_RANGE_CLOEXEC = 4
)

// statx(2) mask bits.
const (
	STATX_TYPE        = 0x1
	STATX_MODE        = 0x2
	STATX_NLINK       = 0x4
	STATX_UID         = 0x8
	STATX_GID         = 0x10
	STATX_ATIME       = 0x20
	STATX_MTIME       = 0x40
	STATX_CTIME       = 0x80
	STATX_INO         = 0x100
	STATX_SIZE        = 0x200
	STATX_BLOCKS      = 0x400
	STATX_BASIC_STATS = 0x7ff
)

// Filesystem magic numbers for statfs(2).
const (
	TMPFS_MAGIC           = 0x01021994
	PROC_MAGIC            = 0x9fa0
	PIPEFS_MAGIC          = 0x50495045
	V9FS_MAGIC            = 0x01021997
	OVERLAYFS_SUPER_MAGIC = 0x794c7630
)

// Statfs is struct statfs on x86-64 (120 bytes).
type Statfs struct {
	Type    int64
	Bsize   int64
	Blocks  uint64
	Bfree   uint64
	Bavail  uint64
	Files   uint64
	Ffree   uint64
	Fsid    [2]int32
	Namelen int64
	Frsize  int64
	Flags   int64
	Spare   [4]int64
}

// Limits of paths and pipes.
const (
	PATH_MAX    = 4096
	NAME_MAX    = 255
	PIPE_BUF    = 4096
	MAXSYMLINKS = 40
)

// poll(2) event bits.
const (
	POLLIN     = 0x1
	POLLPRI    = 0x2
	POLLOUT    = 0x4
	POLLERR    = 0x8
	POLLHUP    = 0x10
	POLLNVAL   = 0x20
	POLLRDNORM = 0x40
	POLLRDBAND = 0x80
	POLLWRNORM = 0x100
	POLLWRBAND = 0x200
	POLLRDHUP  = 0x2000
)
