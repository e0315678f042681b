package fsproto

import (
	"encoding/binary"
	"math"

	"bulwark.dev/pkg/abi/linux"
)

// MaxMessage bounds every message (header included) in both directions.
const MaxMessage = 64 << 10

// headerSize is the size of the fixed message header.
const headerSize = 12

// maxName bounds a path component (NAME_MAX) and maxTarget a symlink target
// (PATH_MAX).
const (
	maxName   = 255
	maxTarget = 4095
)

// msgType identifies an operation. A reply carries the request's type.
type msgType uint16

// Message types. The numbers are part of the wire format: never reuse one.
const (
	tAttach msgType = iota + 1
	tWalk
	tWalkParent
	tStat
	tOpen
	tReaddir
	tReadlink
	tCreate
	tMkdir
	tMknod
	tSymlink
	tLink
	tUnlink
	tRename
	tSetAttr
	tStatFS
	tRelease
	tStatAt
	numTypes // one past the last type
)

// msgNames names message types for logs.
var msgNames = [numTypes]string{
	tAttach: "attach", tWalk: "walk", tWalkParent: "walkparent", tStat: "stat",
	tOpen: "open", tReaddir: "readdir", tReadlink: "readlink", tCreate: "create",
	tMkdir: "mkdir", tMknod: "mknod", tSymlink: "symlink", tLink: "link",
	tUnlink: "unlink", tRename: "rename", tSetAttr: "setattr", tStatFS: "statfs",
	tRelease: "release", tStatAt: "statat",
}

func (t msgType) String() string {
	if t < numTypes && msgNames[t] != "" {
		return msgNames[t]
	}
	return "unknown"
}

// header is the fixed part of every message: total length (header
// included), the tag that pairs a reply with its request, the type and, in
// replies, the errno (0: success, the body holds the result).
type header struct {
	Len   uint32
	Tag   uint32
	Type  msgType
	Errno linux.Errno
}

func putHeader(b []byte, h header) {
	binary.LittleEndian.PutUint32(b[0:], h.Len)
	binary.LittleEndian.PutUint32(b[4:], h.Tag)
	binary.LittleEndian.PutUint16(b[8:], uint16(h.Type))
	binary.LittleEndian.PutUint16(b[10:], uint16(h.Errno))
}

// parseHeader checks that b is one whole message and returns its header and
// body.
func parseHeader(b []byte) (header, []byte, bool) {
	if len(b) < headerSize {
		return header{}, nil, false
	}
	h := header{
		Len:   binary.LittleEndian.Uint32(b[0:]),
		Tag:   binary.LittleEndian.Uint32(b[4:]),
		Type:  msgType(binary.LittleEndian.Uint16(b[8:])),
		Errno: linux.Errno(binary.LittleEndian.Uint16(b[10:])),
	}
	if int(h.Len) != len(b) {
		return h, nil, false
	}
	return h, b[headerSize:], true
}

// encoder appends little-endian fields to a message whose header space is
// reserved at the front.
type encoder struct{ b []byte }

func newEncoder() *encoder { return &encoder{b: make([]byte, headerSize, 128)} }

func (e *encoder) u8(v uint8)   { e.b = append(e.b, v) }
func (e *encoder) u32(v uint32) { e.b = binary.LittleEndian.AppendUint32(e.b, v) }
func (e *encoder) u64(v uint64) { e.b = binary.LittleEndian.AppendUint64(e.b, v) }
func (e *encoder) i64(v int64)  { e.u64(uint64(v)) }
func (e *encoder) fid(f FID)    { e.u64(uint64(f)) }

// str appends a length-prefixed string (uint16 length).
func (e *encoder) str(s string) {
	n := min(len(s), math.MaxUint16)
	e.b = binary.LittleEndian.AppendUint16(e.b, uint16(n))
	e.b = append(e.b, s[:n]...)
}

func (e *encoder) attr(a Attr) {
	e.u32(a.Mode)
	e.u32(a.UID)
	e.u32(a.GID)
	e.u32(a.BlkSize)
	e.u64(a.Nlink)
	e.u64(a.Size)
	e.u64(a.Blocks)
	e.u64(a.Ino)
	e.u64(a.Dev)
	e.u64(a.Rdev)
	e.i64(a.Atime)
	e.i64(a.Mtime)
	e.i64(a.Ctime)
}

// finish fills in the header and returns the message.
func (e *encoder) finish(tag uint32, t msgType, errno linux.Errno) []byte {
	putHeader(e.b, header{Len: uint32(len(e.b)), Tag: tag, Type: t, Errno: errno})
	return e.b
}

// decoder reads fields from a body; reading past the end sets bad and
// yields zero values, so a handler checks bad once at the end.
type decoder struct {
	b   []byte
	bad bool
}

func (d *decoder) take(n int) []byte {
	if d.bad || len(d.b) < n {
		d.bad = true
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) u8() uint8 {
	if b := d.take(1); b != nil {
		return b[0]
	}
	return 0
}

func (d *decoder) u32() uint32 {
	if b := d.take(4); b != nil {
		return binary.LittleEndian.Uint32(b)
	}
	return 0
}

func (d *decoder) u64() uint64 {
	if b := d.take(8); b != nil {
		return binary.LittleEndian.Uint64(b)
	}
	return 0
}

func (d *decoder) i64() int64 { return int64(d.u64()) }
func (d *decoder) fid() FID   { return FID(d.u64()) }

func (d *decoder) str() string {
	b := d.take(2)
	if b == nil {
		return ""
	}
	return string(d.take(int(binary.LittleEndian.Uint16(b))))
}

func (d *decoder) attr() Attr {
	var a Attr
	a.Mode = d.u32()
	a.UID = d.u32()
	a.GID = d.u32()
	a.BlkSize = d.u32()
	a.Nlink = d.u64()
	a.Size = d.u64()
	a.Blocks = d.u64()
	a.Ino = d.u64()
	a.Dev = d.u64()
	a.Rdev = d.u64()
	a.Atime = d.i64()
	a.Mtime = d.i64()
	a.Ctime = d.i64()
	return a
}

// done reports whether the whole body was consumed without running short.
func (d *decoder) done() bool { return !d.bad && len(d.b) == 0 }

// direntSize is the encoded size of a Dirent: ino, type, name length, name.
func direntSize(name string) int { return 8 + 1 + 2 + len(name) }
