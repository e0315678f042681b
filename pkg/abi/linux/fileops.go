package linux

// Advisory locks: flock(2) operations and fcntl(2) record locks.
const (
	LOCK_SH = 1
	LOCK_EX = 2
	LOCK_NB = 4
	LOCK_UN = 8

	F_RDLCK = 0
	F_WRLCK = 1
	F_UNLCK = 2

	F_OFD_GETLK  = 36
	F_OFD_SETLK  = 37
	F_OFD_SETLKW = 38
)

// SizeofFlock is the size of struct flock on x86-64: l_type and l_whence
// (int16), l_start and l_len (int64), l_pid (int32), padded to 32 bytes.
const SizeofFlock = 32

// fallocate(2) modes.
const (
	FALLOC_FL_KEEP_SIZE      = 0x01
	FALLOC_FL_PUNCH_HOLE     = 0x02
	FALLOC_FL_NO_HIDE_STALE  = 0x04
	FALLOC_FL_COLLAPSE_RANGE = 0x08
	FALLOC_FL_ZERO_RANGE     = 0x10
	FALLOC_FL_INSERT_RANGE   = 0x20
	FALLOC_FL_UNSHARE_RANGE  = 0x40
)

// splice(2), tee(2) and vmsplice(2) flags.
const (
	SPLICE_F_MOVE     = 0x01
	SPLICE_F_NONBLOCK = 0x02
	SPLICE_F_MORE     = 0x04
	SPLICE_F_GIFT     = 0x08
)

// openat2(2) resolve flags and the size of struct open_how.
const (
	RESOLVE_NO_XDEV       = 0x01
	RESOLVE_NO_MAGICLINKS = 0x02
	RESOLVE_NO_SYMLINKS   = 0x04
	RESOLVE_BENEATH       = 0x08
	RESOLVE_IN_ROOT       = 0x10
	RESOLVE_CACHED        = 0x20

	SizeofOpenHow = 24
)

// inotify(7) event bits and flags.
const (
	IN_ACCESS        = 0x00000001
	IN_MODIFY        = 0x00000002
	IN_ATTRIB        = 0x00000004
	IN_CLOSE_WRITE   = 0x00000008
	IN_CLOSE_NOWRITE = 0x00000010
	IN_OPEN          = 0x00000020
	IN_MOVED_FROM    = 0x00000040
	IN_MOVED_TO      = 0x00000080
	IN_CREATE        = 0x00000100
	IN_DELETE        = 0x00000200
	IN_DELETE_SELF   = 0x00000400
	IN_MOVE_SELF     = 0x00000800
	IN_ALL_EVENTS    = 0x00000fff

	IN_UNMOUNT    = 0x00002000
	IN_Q_OVERFLOW = 0x00004000
	IN_IGNORED    = 0x00008000

	IN_ONLYDIR     = 0x01000000
	IN_DONT_FOLLOW = 0x02000000
	IN_EXCL_UNLINK = 0x04000000
	IN_MASK_CREATE = 0x10000000
	IN_MASK_ADD    = 0x20000000
	IN_ISDIR       = 0x40000000
	IN_ONESHOT     = 0x80000000

	IN_CLOEXEC  = O_CLOEXEC
	IN_NONBLOCK = O_NONBLOCK

	// SizeofInotifyEvent is the fixed part of struct inotify_event (wd,
	// mask, cookie, len); the NUL-padded name follows.
	SizeofInotifyEvent = 16
)
