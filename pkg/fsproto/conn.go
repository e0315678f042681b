package fsproto

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"

	"golang.org/x/sys/unix"
)

// errTruncated reports a message longer than MaxMessage (or control data
// that did not fit); the message is dropped.
var errTruncated = errors.New("message truncated")

// conn is one end of a SOCK_SEQPACKET connection, used with blocking
// sendmsg and recvmsg made by the goroutine that needs them: a round trip
// then wakes no other goroutine or thread (no network poller, no
// hand-off), which matters most to the sandbox's task goroutines, each
// locked to its own thread. Sends and receives may run concurrently, from
// any number of goroutines: the kernel keeps each message whole.
type conn struct {
	fd int

	// mu is held for reading across every syscall on fd and for writing
	// to close it, so that fd is never closed (and its number reused)
	// under a syscall in progress; shutdown wakes those first.
	mu     sync.RWMutex
	closed bool // guarded by mu
}

// newConn takes ownership of fd (closing it on error), which must be a
// connected SOCK_SEQPACKET unix socket; it is put in blocking mode.
func newConn(fd int) (*conn, error) {
	if fd < 0 {
		return nil, fmt.Errorf("invalid fd %d", fd)
	}
	c, err := checkConn(fd)
	if err != nil {
		unix.Close(fd)
	}
	return c, err
}

func checkConn(fd int) (*conn, error) {
	t, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE)
	if err != nil {
		return nil, fmt.Errorf("fd %d is not a usable socket: %w", fd, err)
	}
	if t != unix.SOCK_SEQPACKET {
		return nil, fmt.Errorf("fd %d is not a SOCK_SEQPACKET unix socket", fd)
	}
	if err := unix.SetNonblock(fd, false); err != nil {
		return nil, fmt.Errorf("fd %d: making it blocking: %w", fd, err)
	}
	return &conn{fd: fd}, nil
}

// send writes one message, donating fd (if >= 0) with SCM_RIGHTS. The
// caller keeps its own copy of fd.
func (c *conn) send(msg []byte, fd int) error {
	var oob []byte
	if fd >= 0 {
		oob = unix.UnixRights(fd)
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return net.ErrClosed
	}
	for {
		err := unix.Sendmsg(c.fd, msg, oob, nil, unix.MSG_NOSIGNAL)
		if err != unix.EINTR {
			return err
		}
	}
}

// recv reads one message into buf and returns it with the fds it carried
// (received close-on-exec). io.EOF means the peer closed the connection
// (or shutdown was called).
func (c *conn) recv(buf, oob []byte) ([]byte, []int, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return nil, nil, net.ErrClosed
	}
	for {
		n, oobn, flags, _, err := unix.Recvmsg(c.fd, buf, oob, unix.MSG_CMSG_CLOEXEC)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		fds := parseRights(oob[:oobn])
		if flags&(unix.MSG_TRUNC|unix.MSG_CTRUNC) != 0 {
			closeAll(fds)
			return nil, nil, errTruncated
		}
		if n == 0 {
			closeAll(fds)
			return nil, nil, io.EOF // no message of the protocol is empty
		}
		return buf[:n], fds, nil
	}
}

// shutdown ends the connection in both directions: blocked and later
// sends and receives return at once, and the peer sees end of file.
func (c *conn) shutdown() {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if !c.closed {
		unix.Shutdown(c.fd, unix.SHUT_RDWR)
	}
}

// close shuts the connection down, waits for the syscalls in progress to
// return and closes the fd.
func (c *conn) close() error {
	c.shutdown()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	return unix.Close(c.fd)
}

// parseRights returns the fds of every SCM_RIGHTS message in oob.
func parseRights(oob []byte) []int {
	if len(oob) == 0 {
		return nil
	}
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil
	}
	var fds []int
	for i := range msgs {
		if r, err := unix.ParseUnixRights(&msgs[i]); err == nil {
			fds = append(fds, r...)
		}
	}
	return fds
}

func closeAll(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}

// oobSize fits the control data of one message carrying a few fds; a peer
// sending more gets its message dropped as truncated.
var oobSize = unix.CmsgSpace(4 * 4)
