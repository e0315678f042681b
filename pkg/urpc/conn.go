// Package urpc is the control-socket RPC between runsc and the sandbox:
// length-prefixed JSON frames over a unix stream socket, with host fds passed
// by SCM_RIGHTS alongside a call.
//
// A frame is a 4-byte big-endian length followed by that many bytes of JSON.
// Fds travel with the first sendmsg of the frame that carries them; the
// receiver collects every fd that arrives while it reads one frame. Several
// calls may be in flight on one connection: each request carries an id and
// its response echoes it.
package urpc

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// MaxFrame is the largest frame either side accepts.
const MaxFrame = 16 << 20

// maxFDs is the most fds one frame may carry.
const maxFDs = 16

// ErrClosed is returned (wrapped) by calls that fail because the connection
// closed or broke before the answer arrived.
var ErrClosed = errors.New("urpc: connection closed")

// request is a call on the wire.
type request struct {
	ID     uint64          `json:"id"`
	Method string          `json:"method"`
	Body   json.RawMessage `json:"body,omitempty"`
	NumFDs int             `json:"nfds,omitempty"`
}

// response is the answer to the request with the same ID.
type response struct {
	ID    uint64          `json:"id"`
	Error string          `json:"error,omitempty"`
	Body  json.RawMessage `json:"body,omitempty"`
}

// conn frames messages over one unix stream socket. Writes are serialized;
// reads are done by a single goroutine.
type conn struct {
	c       *net.UnixConn
	writeMu sync.Mutex
}

// writeFrame sends v as one frame with files attached.
func (c *conn) writeFrame(v any, files []*os.File) error {
	if len(files) > maxFDs {
		return fmt.Errorf("urpc: %d files in one call, at most %d", len(files), maxFDs)
	}
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("urpc: encoding message: %w", err)
	}
	if len(data) > MaxFrame {
		return fmt.Errorf("urpc: message of %d bytes exceeds %d", len(data), MaxFrame)
	}
	buf := make([]byte, 4+len(data))
	binary.BigEndian.PutUint32(buf, uint32(len(data)))
	copy(buf[4:], data)

	var oob []byte
	if len(files) > 0 {
		fds := make([]int, len(files))
		for i, f := range files {
			fds[i] = int(f.Fd())
		}
		oob = unix.UnixRights(fds...)
	}

	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	for len(buf) > 0 {
		n, _, err := c.c.WriteMsgUnix(buf, oob, nil)
		if err != nil {
			return fmt.Errorf("urpc: writing message: %w", err)
		}
		buf, oob = buf[n:], nil
	}
	return nil
}

// readFrame reads one frame into v and returns the files that came with it.
func (c *conn) readFrame(v any) ([]*os.File, error) {
	var files []*os.File
	fail := func(err error) ([]*os.File, error) {
		closeFiles(files)
		return nil, err
	}
	var hdr [4]byte
	if err := c.readFull(hdr[:], &files); err != nil {
		return fail(err)
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n > MaxFrame {
		return fail(fmt.Errorf("urpc: peer sent a frame of %d bytes, limit %d", n, MaxFrame))
	}
	data := make([]byte, n)
	if err := c.readFull(data, &files); err != nil {
		return fail(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fail(fmt.Errorf("urpc: decoding message: %w", err))
	}
	return files, nil
}

// readFull fills buf exactly (never reading past it, so fds of the next
// frame stay queued), appending received fds to files.
func (c *conn) readFull(buf []byte, files *[]*os.File) error {
	oob := make([]byte, unix.CmsgSpace(maxFDs*4))
	for got := 0; got < len(buf); {
		n, oobn, _, _, err := c.c.ReadMsgUnix(buf[got:], oob)
		if oobn > 0 {
			fs, perr := parseRights(oob[:oobn])
			*files = append(*files, fs...)
			if perr != nil {
				return perr
			}
		}
		if err != nil {
			return fmt.Errorf("%w: %v", ErrClosed, err)
		}
		if n == 0 {
			return ErrClosed
		}
		got += n
	}
	return nil
}

// parseRights turns SCM_RIGHTS control messages into files.
func parseRights(oob []byte) ([]*os.File, error) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, fmt.Errorf("urpc: parsing control message: %w", err)
	}
	var files []*os.File
	for i := range msgs {
		fds, err := unix.ParseUnixRights(&msgs[i])
		if err != nil {
			continue // not SCM_RIGHTS
		}
		for _, fd := range fds {
			files = append(files, os.NewFile(uintptr(fd), fmt.Sprintf("urpc-fd-%d", fd)))
		}
	}
	return files, nil
}

func closeFiles(files []*os.File) {
	for _, f := range files {
		f.Close()
	}
}
