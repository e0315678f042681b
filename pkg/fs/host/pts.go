package host

import (
	"fmt"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/vfs"
)

// Host pty slaves in the sandbox's /dev/pts.
//
// A terminal boot gives a container process is a host Unix98 pty slave.
// The sandbox shows it as /dev/pts/N, N being the host pty's index, so
// that ttyname(3) works: readlink of /proc/self/fd/0 gives "/dev/pts/N"
// (the host file's name) and stat of that path gives the st_dev, st_ino
// and st_rdev of fstat(0): PTSDev, PTSIno(N) and the host device number.

// PTSDev is the st_dev of devpts and of host pty slave files.
var PTSDev = vfs.MakeDev(0, 14)

// The host device numbers of Unix98 pty slaves.
const (
	ptySlaveMajor = 136 // UNIX98_PTY_SLAVE_MAJOR
	ptyMajorCount = 8   // UNIX98_PTY_MAJOR_COUNT
)

// PTYIndex returns the index N of /dev/pts/N of host device rdev, or ok
// false when rdev is not a Unix98 pty slave.
func PTYIndex(rdev uint64) (n uint32, ok bool) {
	major, minor := unix.Major(rdev), unix.Minor(rdev)
	if major < ptySlaveMajor || major >= ptySlaveMajor+ptyMajorCount {
		return 0, false
	}
	return (major-ptySlaveMajor)*256 + minor, true
}

// PTSName is the path of pty N: "/dev/pts/N".
func PTSName(n uint32) string { return "/dev/pts/" + strconv.FormatUint(uint64(n), 10) }

// PTSIno is the inode number of /dev/pts/N (Linux's: N+3, after the root
// and ptmx).
func PTSIno(n uint32) uint64 { return uint64(n) + 3 }

// PTSNode is the /dev/pts/N node of a host pty slave. Opening it gives a
// new file on the same host tty, sharing the description of the node's fd
// (the sandbox opens no host path after boot), which is the same terminal
// to the sandbox kernel (Terminal reports the host device number).
//
// The node watches its fd: Done is closed when the host hangs the tty up
// (its master was closed) or when the node is closed.
type PTSNode struct {
	index uint32
	wake  int           // eventfd that ends the watch
	done  chan struct{} // closed when the watch has ended

	mu     sync.RWMutex
	fd     int  // guarded by mu
	closed bool // guarded by mu
}

// NewPTSNode returns the node of host pty slave fd, taking ownership of fd
// (also on error).
func NewPTSNode(fd int) (*PTSNode, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("host fd %d: fstat: %w", fd, err)
	}
	n, ok := PTYIndex(st.Rdev)
	if !ok || st.Mode&unix.S_IFMT != unix.S_IFCHR {
		unix.Close(fd)
		return nil, fmt.Errorf("host fd %d: not a pty slave (mode %#o, device %d:%d)",
			fd, st.Mode, unix.Major(st.Rdev), unix.Minor(st.Rdev))
	}
	wake, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("host fd %d: eventfd: %w", fd, err)
	}
	p := &PTSNode{index: n, wake: wake, done: make(chan struct{}), fd: fd}
	go p.watch()
	return p, nil
}

// watch waits for a hang-up of the tty or for Close.
func (p *PTSNode) watch() {
	defer close(p.done)
	fds := []unix.PollFd{{Fd: int32(p.fd)}, {Fd: int32(p.wake), Events: unix.POLLIN}}
	for {
		_, err := retryEINTR(func() (int, error) { return unix.Poll(fds, -1) })
		if err != nil || fds[0].Revents != 0 || fds[1].Revents != 0 {
			return
		}
	}
}

// Index returns N.
func (p *PTSNode) Index() uint32 { return p.index }

// Done returns a channel closed once the tty hung up or the node was
// closed.
func (p *PTSNode) Done() <-chan struct{} { return p.done }

// Close ends the watch and closes the node's fd; files opened from the
// node stay usable.
func (p *PTSNode) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.closed = true
	one := [8]byte{1}
	unix.Write(p.wake, one[:])
	<-p.done // the watch no longer polls fd
	unix.Close(p.fd)
	unix.Close(p.wake)
}

// Stat implements vfs.Inode: the host tty's attributes, as devpts
// numbers them.
func (p *PTSNode) Stat(ctx vfs.Context) (vfs.Attr, error) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed {
		return vfs.Attr{}, linux.ENOENT
	}
	return (&inode{fd: p.fd, ino: PTSIno(p.index), dev: PTSDev}).Stat(ctx)
}

// Open implements vfs.Inode: a host file on a duplicate of the node's fd.
func (p *PTSNode) Open(vfs.Context, uint32) (vfs.FileImpl, error) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed {
		return nil, linux.EIO
	}
	fd, err := unix.FcntlInt(uintptr(p.fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, toErrno(err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, toErrno(err)
	}
	fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err != nil {
		unix.Close(fd)
		return nil, toErrno(err)
	}
	return newImpl(fd, &st, fl), nil
}
