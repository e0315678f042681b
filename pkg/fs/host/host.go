// Package host wraps host fds handed to the sandbox at start (stdio: pipes,
// files, a tty, sockets) as vfs Files. The host syscalls here are issued by
// our code on behalf of the application, never by passing its calls
// through.
//
// The rule is that the application sees the host fd as if it used it
// itself, without us changing anything the other holders of the host's
// open file description can observe:
//   - regular files and block devices use read(2), write(2) and lseek(2),
//     so the offset is the host's, shared with every holder of the
//     description, and the host honours O_APPEND;
//   - FIFOs and character devices (ttys) are best given a description of
//     their own with Reopen, which sets O_NONBLOCK on it only; a blocking
//     one that could not be reopened is polled before each transfer;
//   - sockets keep their (blocking) description and transfer with
//     MSG_DONTWAIT.
//
// Stream transfers that must wait poll(2) the fd together with an eventfd
// that an interrupted wait signals, so every wait can be cut short by a
// signal to the task.
package host

import (
	"fmt"
	"sync"

	"golang.org/x/sys/unix"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/vfs"
)

// inode is a host fd's inode: attributes come from fstat.
type inode struct {
	fd  int
	ino uint64
	dev uint32 // st_dev reported: hostDev, or PTSDev for a pty slave
}

// Stat implements vfs.Inode.
func (i *inode) Stat(vfs.Context) (vfs.Attr, error) {
	var st unix.Stat_t
	if err := unix.Fstat(i.fd, &st); err != nil {
		return vfs.Attr{}, toErrno(err)
	}
	return vfs.Attr{
		Mode: st.Mode, UID: st.Uid, GID: st.Gid, Nlink: uint32(st.Nlink), Size: st.Size,
		Blocks: st.Blocks, BlkSize: uint32(st.Blksize), Ino: i.ino, Dev: i.dev, Rdev: uint32(st.Rdev),
		Atime: linux.Timespec{Sec: st.Atim.Sec, Nsec: st.Atim.Nsec},
		Mtime: linux.Timespec{Sec: st.Mtim.Sec, Nsec: st.Mtim.Nsec},
		Ctime: linux.Timespec{Sec: st.Ctim.Sec, Nsec: st.Ctim.Nsec},
	}, nil
}

// Open implements vfs.Inode: a host fd cannot be opened again by path.
func (i *inode) Open(vfs.Context, uint32) (vfs.FileImpl, error) { return nil, linux.ENXIO }

// SetAttr implements vfs.SetAttrer: only truncation (ftruncate).
func (i *inode) SetAttr(_ vfs.Context, req vfs.SetAttrRequest) error {
	if req.Mask != vfs.SetSize {
		return linux.EPERM
	}
	return toErrno(unix.Ftruncate(i.fd, req.Size))
}

// hostDev is the device reported for host fds.
var hostDev = vfs.MakeDev(0, 15)

func toErrno(err error) error {
	if err == nil {
		return nil
	}
	if e, ok := err.(unix.Errno); ok {
		return linux.Errno(e)
	}
	return linux.EIO
}

// NewFile wraps host fd; the File takes ownership and closes it on
// release. NewFile never changes the fd's status flags: call Reopen first
// (while host paths are reachable) to give FIFOs and ttys a non-blocking
// description of their own.
//
// The File's name (the text of /proc/self/fd/N) is "pipe:[ino]" or
// "socket:[ino]" for pipes and sockets, "/dev/pts/N" for a host pty slave
// (which stats as the node devpts shows for it, see PTSDev), and
// "host:[fd]" otherwise.
func NewFile(fd int) (*vfs.File, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, fmt.Errorf("host fd %d: fstat: %w", fd, err)
	}
	fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err != nil {
		return nil, fmt.Errorf("host fd %d: F_GETFL: %w", fd, err)
	}
	impl := newImpl(fd, &st, fl)
	in := &inode{fd: fd, ino: vfs.NewIno(), dev: hostDev}
	name := fmt.Sprintf("host:[%d]", fd)
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFIFO:
		name = fmt.Sprintf("pipe:[%d]", st.Ino)
	case unix.S_IFSOCK:
		name = fmt.Sprintf("socket:[%d]", st.Ino)
	case unix.S_IFCHR:
		if n, ok := PTYIndex(st.Rdev); ok {
			name = PTSName(n)
			in.ino, in.dev = PTSIno(n), PTSDev
		}
	}
	// The application starts with a blocking view whatever the host
	// description says (a reopened one is always non-blocking).
	flags := uint32(fl) & (linux.O_ACCMODE | linux.O_APPEND)
	return vfs.NewFile(in, impl, flags, name), nil
}

// newImpl returns the file implementation for host fd, whose fstat is st
// and status flags fl; it owns fd.
func newImpl(fd int, st *unix.Stat_t, fl int) vfs.FileImpl {
	h := &hostFD{fd: fd}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG, unix.S_IFBLK:
		return regularFile{h}
	case unix.S_IFSOCK:
		return &streamFile{hostFD: h, xfer: socketXfer}
	}
	// FIFOs, character devices (ttys, /dev/null)
	x := nonblockXfer
	if fl&unix.O_NONBLOCK == 0 {
		x = blockingXfer
	}
	return &streamFile{hostFD: h, xfer: x, tty: isTTY(fd), rdev: st.Rdev}
}

func isTTY(fd int) bool {
	_, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	return err == nil
}

// hostFD is the part common to every kind of host file: the fd, closed
// once on release.
type hostFD struct {
	fd   int
	once sync.Once
}

// Release implements vfs.FileImpl.
func (h *hostFD) Release() { h.once.Do(func() { unix.Close(h.fd) }) }

// Seek implements vfs.Seeker on the host fd: it moves the offset every
// holder of the description shares, and fails as the host does for pipes,
// sockets and ttys (ESPIPE).
func (h *hostFD) Seek(_ vfs.Context, _ *vfs.File, offset int64, whence int) (int64, error) {
	off, err := unix.Seek(h.fd, offset, whence)
	if err != nil {
		return 0, toErrno(err)
	}
	return off, nil
}

// Sync implements vfs.Syncer: fsync on the host fd (EINVAL for pipes,
// sockets and ttys, as on the host).
func (h *hostFD) Sync(vfs.Context) error { return toErrno(unix.Fsync(h.fd)) }

// regularFile is a host regular file or block device: never blocks, so
// plain read(2)/write(2) are right. Its position is the host
// description's, shared with every holder (vfs.PositionOwner); explicit
// offsets (pread, pwrite, mmap) use pread(2)/pwrite(2).
type regularFile struct{ *hostFD }

// ReadCurrent implements vfs.PositionOwner at the host offset.
func (r regularFile) ReadCurrent(_ vfs.Context, _ *vfs.File, dst []byte) (int, error) {
	return transfer(func() (int, error) { return unix.Read(r.fd, dst) })
}

// WriteCurrent implements vfs.PositionOwner at the host offset, or at the
// end when the host description has O_APPEND.
func (r regularFile) WriteCurrent(_ vfs.Context, _ *vfs.File, src []byte) (int, error) {
	return transfer(func() (int, error) { return unix.Write(r.fd, src) })
}

// Read implements vfs.FileImpl at an explicit offset.
func (r regularFile) Read(_ vfs.Context, _ *vfs.File, dst []byte, off int64) (int, error) {
	return transfer(func() (int, error) { return unix.Pread(r.fd, dst, off) })
}

// Write implements vfs.FileImpl at an explicit offset.
func (r regularFile) Write(_ vfs.Context, _ *vfs.File, src []byte, off int64) (int, error) {
	return transfer(func() (int, error) { return unix.Pwrite(r.fd, src, off) })
}

// transfer runs one host read or write, retrying EINTR, and reports a
// partial transfer as success like the host does.
func transfer(op func() (int, error)) (int, error) {
	n, err := retryEINTR(op)
	if n > 0 {
		return n, nil
	}
	return 0, toErrno(err)
}

// SetStatusFlags implements vfs.StatusFlagsSetter: O_APPEND set by the
// application goes to the host description, as it would if the
// application held the fd itself. O_NONBLOCK means nothing for regular
// files and stays ours.
func (r regularFile) SetStatusFlags(flags uint32) error {
	fl, err := unix.FcntlInt(uintptr(r.fd), unix.F_GETFL, 0)
	if err != nil {
		return toErrno(err)
	}
	nf := fl &^ unix.O_APPEND
	if flags&linux.O_APPEND != 0 {
		nf |= unix.O_APPEND
	}
	if nf == fl {
		return nil
	}
	_, err = unix.FcntlInt(uintptr(r.fd), unix.F_SETFL, nf)
	return toErrno(err)
}

// retryEINTR runs a host transfer again when a signal to the sandbox
// process interrupted it before it moved any data.
func retryEINTR(op func() (int, error)) (int, error) {
	for {
		n, err := op()
		if err != unix.EINTR {
			return n, err
		}
	}
}
