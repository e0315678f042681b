package urpc

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
)

// RemoteError is an error returned by a handler on the other side. Its text
// is the handler's error text.
type RemoteError struct{ Msg string }

func (e *RemoteError) Error() string { return e.Msg }

// Client calls methods on a server over one connection. It is safe for
// concurrent use; calls proceed independently.
type Client struct {
	cn *conn

	mu      sync.Mutex
	nextID  uint64
	pending map[uint64]chan response
	err     error // set once the connection broke; later calls fail with it
}

// Dial connects to the server listening on the unix socket path.
func Dial(path string) (*Client, error) {
	c, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("connecting to %q: %w", path, err)
	}
	return NewClient(c), nil
}

// NewClient wraps a connected socket; the client owns it.
func NewClient(c *net.UnixConn) *Client {
	cl := &Client{cn: &conn{c: c}, pending: map[uint64]chan response{}}
	go cl.readLoop()
	return cl
}

// Call invokes method with arg (encoded as JSON) and files (which stay
// owned by the caller: the kernel duplicates them into the message) and
// decodes the answer into result (which may be nil). A handler's error is
// returned as a *RemoteError; a broken connection as an error wrapping
// ErrClosed.
func (c *Client) Call(method string, arg, result any, files ...*os.File) error {
	var body json.RawMessage
	if arg != nil {
		b, err := json.Marshal(arg)
		if err != nil {
			return fmt.Errorf("%s: encoding argument: %w", method, err)
		}
		body = b
	}

	ch := make(chan response, 1)
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		return fmt.Errorf("%s: %w", method, err)
	}
	c.nextID++
	id := c.nextID
	c.pending[id] = ch
	c.mu.Unlock()

	req := request{ID: id, Method: method, Body: body, NumFDs: len(files)}
	if err := c.cn.writeFrame(req, files); err != nil {
		c.mu.Lock()
		delete(c.pending, id)
		c.mu.Unlock()
		return fmt.Errorf("%s: %w (%v)", method, ErrClosed, err)
	}

	resp, ok := <-ch
	if !ok {
		c.mu.Lock()
		err := c.err
		c.mu.Unlock()
		return fmt.Errorf("%s: %w", method, err)
	}
	if resp.Error != "" {
		return &RemoteError{Msg: resp.Error}
	}
	if result != nil && len(resp.Body) > 0 {
		if err := json.Unmarshal(resp.Body, result); err != nil {
			return fmt.Errorf("%s: decoding result: %w", method, err)
		}
	}
	return nil
}

// readLoop delivers responses to their callers until the connection ends,
// then fails every pending call.
func (c *Client) readLoop() {
	for {
		var resp response
		files, err := c.cn.readFrame(&resp)
		closeFiles(files) // responses carry no files
		if err != nil {
			if !errors.Is(err, ErrClosed) {
				err = fmt.Errorf("%w: %v", ErrClosed, err)
			}
			c.mu.Lock()
			c.err = err
			for id, ch := range c.pending {
				close(ch)
				delete(c.pending, id)
			}
			c.mu.Unlock()
			return
		}
		c.mu.Lock()
		ch, ok := c.pending[resp.ID]
		delete(c.pending, resp.ID)
		c.mu.Unlock()
		if ok {
			ch <- resp
		}
	}
}

// Close closes the connection; pending calls fail with ErrClosed.
func (c *Client) Close() error {
	return c.cn.c.Close()
}
