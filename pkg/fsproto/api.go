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

// StatFS is the part of struct statfs the protocol carries.
type StatFS struct {
	Type, BlockSize, Blocks, BlocksFree, BlocksAvail, Files, FilesFree, NameLen uint64
}
