package fsproto

import (
	"errors"
	"fmt"
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// errTruncated reports a message longer than MaxMessage (or control data
// that did not fit); the message is dropped.
var errTruncated = errors.New("message truncated")

// conn is one end of a SOCK_SEQPACKET connection. Reads and writes may run
// concurrently; the net package serializes each direction.
type conn struct {
	uc *net.UnixConn
}

// newConn takes ownership of fd, which must be a connected SOCK_SEQPACKET
// unix socket.
func newConn(fd int) (*conn, error) {
	f := os.NewFile(uintptr(fd), "fsproto")
	if f == nil {
		return nil, fmt.Errorf("invalid fd %d", fd)
	}
	nc, err := net.FileConn(f) // dups fd
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("fd %d is not a usable socket: %w", fd, err)
	}
	uc, ok := nc.(*net.UnixConn)
	if !ok || uc.LocalAddr().Network() != "unixpacket" {
		nc.Close()
		return nil, fmt.Errorf("fd %d is not a SOCK_SEQPACKET unix socket", fd)
	}
	return &conn{uc: uc}, nil
}

// send writes one message, donating fd (if >= 0) with SCM_RIGHTS. The
// caller keeps its own copy of fd.
func (c *conn) send(msg []byte, fd int) error {
	var oob []byte
	if fd >= 0 {
		oob = unix.UnixRights(fd)
	}
	_, _, err := c.uc.WriteMsgUnix(msg, oob, nil)
	return err
}

// recv reads one message into buf and returns it with the fds it carried
// (received close-on-exec). io.EOF means the peer closed the connection.
func (c *conn) recv(buf, oob []byte) ([]byte, []int, error) {
	n, oobn, flags, _, err := c.uc.ReadMsgUnix(buf, oob)
	if err != nil {
		return nil, nil, err
	}
	fds := parseRights(oob[:oobn])
	if flags&(unix.MSG_TRUNC|unix.MSG_CTRUNC) != 0 {
		closeAll(fds)
		return nil, nil, errTruncated
	}
	return buf[:n], fds, nil
}

// close closes the connection; blocked reads and writes return.
func (c *conn) close() error { return c.uc.Close() }

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
