// Package host wraps host fds handed to the sandbox at start (stdio: pipes,
// files, a tty) as vfs Files. The host syscalls here are issued by our code
// on behalf of the application, never by passing its calls through.
package host

import (
	"fmt"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/vfs"
)

// inode is a host fd's inode: attributes come from fstat.
type inode struct {
	fd  int
	ino uint64
}

func (i *inode) Stat(vfs.Context) (vfs.Attr, error) {
	var st unix.Stat_t
	if err := unix.Fstat(i.fd, &st); err != nil {
		return vfs.Attr{}, toErrno(err)
	}
	return vfs.Attr{
		Mode: st.Mode, UID: st.Uid, GID: st.Gid, Nlink: uint32(st.Nlink), Size: st.Size,
		Blocks: st.Blocks, BlkSize: uint32(st.Blksize), Ino: i.ino, Dev: hostDev, Rdev: uint32(st.Rdev),
		Atime: linux.Timespec{Sec: st.Atim.Sec, Nsec: st.Atim.Nsec},
		Mtime: linux.Timespec{Sec: st.Mtim.Sec, Nsec: st.Mtim.Nsec},
		Ctime: linux.Timespec{Sec: st.Ctim.Sec, Nsec: st.Ctim.Nsec},
	}, nil
}

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

// NewFile wraps host fd (the File takes ownership and closes it on
// release). Pipes, sockets and ttys are switched to non-blocking mode and
// waited on with the Go runtime poller, so blocked reads and writes can be
// interrupted by signals.
func NewFile(fd int) (*vfs.File, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, fmt.Errorf("host fd %d: fstat: %w", fd, err)
	}
	fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err != nil {
		return nil, fmt.Errorf("host fd %d: F_GETFL: %w", fd, err)
	}
	typ := st.Mode & unix.S_IFMT
	impl := &fileImpl{fd: fd, regular: typ == unix.S_IFREG || typ == unix.S_IFBLK}
	if !impl.regular {
		if err := unix.SetNonblock(fd, true); err != nil {
			return nil, fmt.Errorf("host fd %d: setting O_NONBLOCK: %w", fd, err)
		}
		impl.file = os.NewFile(uintptr(fd), fmt.Sprintf("host-fd-%d", fd))
		impl.tty = isTTY(fd)
	}
	var fi vfs.FileImpl = impl
	if !impl.regular {
		fi = streamFile{impl}
	}
	in := &inode{fd: fd, ino: vfs.NewIno()}
	name := fmt.Sprintf("host:[%d]", fd)
	switch typ {
	case unix.S_IFIFO:
		name = fmt.Sprintf("pipe:[%d]", st.Ino)
	case unix.S_IFSOCK:
		name = fmt.Sprintf("socket:[%d]", st.Ino)
	}
	flags := uint32(fl) & (linux.O_ACCMODE | linux.O_APPEND)
	return vfs.NewFile(in, fi, flags, name), nil
}

func isTTY(fd int) bool {
	_, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	return err == nil
}

// fileImpl is the open host fd.
type fileImpl struct {
	fd      int
	regular bool     // use pread/pwrite at the vfs offset
	tty     bool     // forward terminal ioctls
	file    *os.File // poller registration for non-regular fds
	mu      sync.Mutex
	closed  bool
}

// Read implements vfs.FileImpl.
func (h *fileImpl) Read(ctx vfs.Context, f *vfs.File, dst []byte, off int64) (int, error) {
	if h.regular {
		n, err := unix.Pread(h.fd, dst, off)
		return max(n, 0), toErrno(err)
	}
	return h.io(ctx, f, func(fd int) (int, error) { return unix.Read(fd, dst) }, true)
}

// Write implements vfs.FileImpl.
func (h *fileImpl) Write(ctx vfs.Context, f *vfs.File, src []byte, off int64) (int, error) {
	if h.regular {
		n, err := unix.Pwrite(h.fd, src, off)
		return max(n, 0), toErrno(err)
	}
	done := 0
	for done < len(src) {
		n, err := h.io(ctx, f, func(fd int) (int, error) { return unix.Write(fd, src[done:]) }, false)
		done += n
		if err != nil {
			if done > 0 {
				return done, nil
			}
			return 0, err
		}
	}
	return done, nil
}

// io does one read or write on a non-blocking fd: at once when possible,
// else waiting for readiness in the poller while the task can still be
// interrupted (then the wait is cut short with a deadline).
func (h *fileImpl) io(ctx vfs.Context, f *vfs.File, op func(fd int) (int, error), read bool) (int, error) {
	n, err := op(h.fd)
	if err != unix.EAGAIN {
		return max(n, 0), toErrno(err)
	}
	if f.StatusFlags()&linux.O_NONBLOCK != 0 {
		return 0, linux.EAGAIN
	}
	rc, err := h.file.SyscallConn()
	if err != nil {
		return 0, linux.EIO
	}
	done := make(chan struct{})
	var opErr error
	go func() {
		defer close(done)
		call := rc.Write
		if read {
			call = rc.Read
		}
		err := call(func(fd uintptr) bool {
			n, opErr = op(int(fd))
			return opErr != unix.EAGAIN
		})
		if err != nil && opErr == nil {
			opErr = err
		}
	}()
	if err := ctx.Block(done); err != nil {
		// Interrupted: cut the poller wait short.
		if read {
			h.file.SetReadDeadline(time.Now())
		} else {
			h.file.SetWriteDeadline(time.Now())
		}
		<-done
		h.file.SetDeadline(time.Time{})
		if n > 0 && (opErr == nil) {
			return n, nil
		}
		return 0, linux.ERESTARTSYS
	}
	if opErr != nil {
		if _, ok := opErr.(unix.Errno); ok {
			return 0, toErrno(opErr)
		}
		return 0, linux.EIO
	}
	return max(n, 0), nil
}

// streamFile is a host pipe, socket or tty: no position.
type streamFile struct{ *fileImpl }

// Seek implements vfs.Seeker: ttys, pipes and sockets cannot seek.
func (streamFile) Seek(vfs.Context, *vfs.File, int64, int) (int64, error) { return 0, linux.ESPIPE }

// Release implements vfs.FileImpl.
func (h *fileImpl) Release() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.closed = true
	if h.file != nil {
		h.file.Close()
	} else {
		unix.Close(h.fd)
	}
}

// Sync implements vfs.Syncer.
func (h *fileImpl) Sync(vfs.Context) error {
	if !h.regular {
		return nil
	}
	return toErrno(unix.Fsync(h.fd))
}
