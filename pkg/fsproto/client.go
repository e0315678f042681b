package fsproto

import (
	"errors"
	"fmt"
	"sync"

	"bulwark.dev/pkg/abi/linux"
)

// Client is the sandbox half of one mount's connection. Safe for concurrent
// use: requests carry tags, so a slow operation does not hold up the
// others.
//
// There is no reader goroutine: a caller sends its request and then, if
// no other caller is reading replies, reads them itself with a blocking
// recvmsg until its own arrives, handing any other caller's reply to it on
// the way. A lone call therefore costs one sendmsg and one recvmsg in the
// caller's own thread, with no goroutine or thread woken in between.
//
// Errors are linux.Errno values. When the connection fails (the gofer died
// or the Client was closed) every pending and later call returns
// linux.EIO; Err reports the underlying cause.
type Client struct {
	conn *conn

	// reader holds one token while no caller is reading replies; the
	// caller that takes it owns buf and oob until it puts it back.
	reader chan struct{}
	buf    []byte
	oob    []byte

	mu      sync.Mutex // guards the fields below
	pending map[uint32]chan reply
	nextTag uint32
	err     error // why the connection ended, nil while it is up
}

// reply is one response as the reading caller hands it over.
type reply struct {
	errno linux.Errno
	body  []byte
	fd    int // donated fd or -1
}

// NewClient wraps a connected SOCK_SEQPACKET fd (the client takes ownership).
func NewClient(fd int) (*Client, error) {
	cn, err := newConn(fd)
	if err != nil {
		return nil, err
	}
	c := &Client{conn: cn, reader: make(chan struct{}, 1), buf: make([]byte, MaxMessage),
		oob: make([]byte, oobSize), pending: make(map[uint32]chan reply)}
	c.reader <- struct{}{}
	return c, nil
}

// Close closes the connection. Pending calls return linux.EIO.
func (c *Client) Close() error {
	c.fail(errClientClosed)
	return c.conn.close()
}

var errClientClosed = errors.New("client closed")

// Err returns why the connection ended, or nil while it is up.
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// wait returns the reply that arrives on ch, reading replies itself
// whenever no other caller is.
func (c *Client) wait(ch chan reply) reply {
	select {
	case r := <-ch:
		return r
	case <-c.reader:
	}
	defer func() { c.reader <- struct{}{} }()
	for {
		select {
		case r := <-ch:
			return r
		default:
		}
		if err := c.readOne(); err != nil {
			c.fail(err) // answers ch too
		}
	}
}

// readOne reads one reply and hands it to its caller. The caller holds
// the reader token. An error means the connection is unusable.
func (c *Client) readOne() error {
	msg, fds, err := c.conn.recv(c.buf, c.oob)
	if err == errTruncated {
		return nil // cannot name its tag: its caller waits until the connection ends
	}
	if err != nil {
		return err
	}
	h, body, ok := parseHeader(msg)
	c.mu.Lock()
	ch := c.pending[h.Tag]
	delete(c.pending, h.Tag)
	c.mu.Unlock()
	switch {
	case ch == nil:
		closeAll(fds)
	case !ok || len(fds) > 1:
		closeAll(fds)
		ch <- reply{errno: linux.EIO, fd: -1}
	default:
		r := reply{errno: h.Errno, body: append([]byte(nil), body...), fd: -1}
		if len(fds) == 1 {
			r.fd = fds[0]
		}
		ch <- r
	}
	return nil
}

// fail records the connection's end, shuts it down and wakes every
// pending call.
func (c *Client) fail(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		c.err = err
		c.conn.shutdown()
	}
	for tag, ch := range c.pending {
		ch <- reply{errno: linux.EIO, fd: -1}
		delete(c.pending, tag)
	}
}

// call sends a request and waits for its reply. On success the body is
// returned for decoding and fd is the donated fd (or -1), which the caller
// owns. On an error reply any donated fd is closed.
func (c *Client) call(t msgType, e *encoder) (*decoder, int, error) {
	ch := make(chan reply, 1)
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return nil, -1, linux.EIO
	}
	c.nextTag++
	if c.nextTag == 0 {
		c.nextTag = 1
	}
	tag := c.nextTag
	c.pending[tag] = ch
	c.mu.Unlock()

	if err := c.conn.send(e.finish(tag, t, 0), -1); err != nil {
		c.fail(fmt.Errorf("sending %s request: %w", t, err))
	}
	r := c.wait(ch)
	if r.errno != 0 {
		closeAll(fdList(r.fd))
		return nil, -1, r.errno
	}
	return &decoder{b: r.body}, r.fd, nil
}

// callNoFD is call for replies that never carry an fd.
func (c *Client) callNoFD(t msgType, e *encoder) (*decoder, error) {
	d, fd, err := c.call(t, e)
	if fd >= 0 {
		closeAll([]int{fd})
		return nil, linux.EIO
	}
	return d, err
}

func fdList(fd int) []int {
	if fd < 0 {
		return nil
	}
	return []int{fd}
}

// longName refuses names the server would refuse anyway before they can
// push a request past MaxMessage.
func longName(names ...string) error {
	for _, n := range names {
		if len(n) > maxName {
			return linux.ENAMETOOLONG
		}
	}
	return nil
}

// fidAttr decodes the common (FID, Attr) reply.
func fidAttr(d *decoder, err error) (FID, Attr, error) {
	if err != nil {
		return 0, Attr{}, err
	}
	f, a := d.fid(), d.attr()
	if !d.done() {
		return 0, Attr{}, linux.EIO
	}
	return f, a, nil
}

// attrOnly decodes a reply that holds attributes alone.
func attrOnly(d *decoder, err error) (Attr, error) {
	if err != nil {
		return Attr{}, err
	}
	a := d.attr()
	if !d.done() {
		return Attr{}, linux.EIO
	}
	return a, nil
}

// empty checks an empty reply.
func empty(d *decoder, err error) error {
	if err != nil {
		return err
	}
	if !d.done() {
		return linux.EIO
	}
	return nil
}

// Attach returns the mount's root.
func (c *Client) Attach() (FID, Attr, error) {
	return fidAttr(c.callNoFD(tAttach, newEncoder()))
}

// Walk looks up one path component name (never "/" inside, never ".."
// beyond the root: the server refuses) in directory dir and does not
// follow a symlink at name.
func (c *Client) Walk(dir FID, name string) (FID, Attr, error) {
	if err := longName(name); err != nil {
		return 0, Attr{}, err
	}
	e := newEncoder()
	e.fid(dir)
	e.str(name)
	return fidAttr(c.callNoFD(tWalk, e))
}

// WalkParent returns dir's parent (the root's parent is the root).
func (c *Client) WalkParent(dir FID) (FID, Attr, error) {
	e := newEncoder()
	e.fid(dir)
	return fidAttr(c.callNoFD(tWalkParent, e))
}

// Stat returns fresh attributes.
func (c *Client) Stat(f FID) (Attr, error) {
	e := newEncoder()
	e.fid(f)
	return attrOnly(c.callNoFD(tStat, e))
}

// StatAt returns the fresh attributes of name (one component, as for
// Walk) in directory dir, without walking to it.
func (c *Client) StatAt(dir FID, name string) (Attr, error) {
	if err := longName(name); err != nil {
		return Attr{}, err
	}
	e := newEncoder()
	e.fid(dir)
	e.str(name)
	return attrOnly(c.callNoFD(tStatAt, e))
}

// Open opens f with open(2) flags (O_RDONLY/O_WRONLY/O_RDWR, O_TRUNC,
// O_APPEND; never O_CREAT) and returns the donated host fd.
func (c *Client) Open(f FID, flags uint32) (int, error) {
	e := newEncoder()
	e.fid(f)
	e.u32(flags)
	d, fd, err := c.call(tOpen, e)
	if err != nil {
		return -1, err
	}
	if fd < 0 || !d.done() {
		closeAll(fdList(fd))
		return -1, linux.EIO
	}
	return fd, nil
}

// Readdir lists a directory (without "." and ".."). Large directories take
// several round trips.
func (c *Client) Readdir(dir FID) ([]Dirent, error) {
	var out []Dirent
	var cookie uint64
	for {
		e := newEncoder()
		e.fid(dir)
		e.u64(cookie)
		d, err := c.callNoFD(tReaddir, e)
		if err != nil {
			return nil, err
		}
		cookie = d.u64()
		eof := d.u8()
		n := d.u32()
		for i := uint32(0); i < n && !d.bad; i++ {
			var de Dirent
			de.Ino = d.u64()
			de.Type = d.u8()
			de.Name = d.str()
			out = append(out, de)
		}
		if !d.done() || (n == 0 && eof == 0) {
			return nil, linux.EIO
		}
		if eof != 0 {
			return out, nil
		}
	}
}

// Readlink returns a symlink's target.
func (c *Client) Readlink(f FID) (string, error) {
	e := newEncoder()
	e.fid(f)
	d, err := c.callNoFD(tReadlink, e)
	if err != nil {
		return "", err
	}
	s := d.str()
	if !d.done() {
		return "", linux.EIO
	}
	return s, nil
}

// Create creates and opens a regular file name in dir (O_EXCL semantics).
func (c *Client) Create(dir FID, name string, flags, mode, uid, gid uint32) (FID, Attr, int, error) {
	if err := longName(name); err != nil {
		return 0, Attr{}, -1, err
	}
	e := newEncoder()
	e.fid(dir)
	e.str(name)
	e.u32(flags)
	e.u32(mode)
	e.u32(uid)
	e.u32(gid)
	d, fd, err := c.call(tCreate, e)
	if err != nil {
		return 0, Attr{}, -1, err
	}
	f, a := d.fid(), d.attr()
	if fd < 0 || !d.done() {
		closeAll(fdList(fd))
		return 0, Attr{}, -1, linux.EIO
	}
	return f, a, fd, nil
}

// Mkdir creates a directory.
func (c *Client) Mkdir(dir FID, name string, mode, uid, gid uint32) (FID, Attr, error) {
	return c.makeNode(tMkdir, dir, name, mode, uid, gid)
}

// Mknod creates a FIFO or socket node (other types: EPERM).
func (c *Client) Mknod(dir FID, name string, mode, uid, gid uint32) (FID, Attr, error) {
	return c.makeNode(tMknod, dir, name, mode, uid, gid)
}

func (c *Client) makeNode(t msgType, dir FID, name string, mode, uid, gid uint32) (FID, Attr, error) {
	if err := longName(name); err != nil {
		return 0, Attr{}, err
	}
	e := newEncoder()
	e.fid(dir)
	e.str(name)
	e.u32(mode)
	e.u32(uid)
	e.u32(gid)
	return fidAttr(c.callNoFD(t, e))
}

// Symlink creates name in dir pointing at target.
func (c *Client) Symlink(dir FID, name, target string, uid, gid uint32) (FID, Attr, error) {
	if err := longName(name); err != nil {
		return 0, Attr{}, err
	}
	if len(target) > maxTarget {
		return 0, Attr{}, linux.ENAMETOOLONG
	}
	e := newEncoder()
	e.fid(dir)
	e.str(name)
	e.str(target)
	e.u32(uid)
	e.u32(gid)
	return fidAttr(c.callNoFD(tSymlink, e))
}

// Link creates a hard link name in dir to target.
func (c *Client) Link(dir FID, name string, target FID) (Attr, error) {
	if err := longName(name); err != nil {
		return Attr{}, err
	}
	e := newEncoder()
	e.fid(dir)
	e.str(name)
	e.fid(target)
	return attrOnly(c.callNoFD(tLink, e))
}

// Unlink removes name from dir; flags may hold AT_REMOVEDIR.
func (c *Client) Unlink(dir FID, name string, flags uint32) error {
	if err := longName(name); err != nil {
		return err
	}
	e := newEncoder()
	e.fid(dir)
	e.str(name)
	e.u32(flags)
	return empty(c.callNoFD(tUnlink, e))
}

// Rename renames oldDir/oldName to newDir/newName.
func (c *Client) Rename(oldDir FID, oldName string, newDir FID, newName string) error {
	if err := longName(oldName, newName); err != nil {
		return err
	}
	e := newEncoder()
	e.fid(oldDir)
	e.str(oldName)
	e.fid(newDir)
	e.str(newName)
	return empty(c.callNoFD(tRename, e))
}

// SetAttr changes attributes.
func (c *Client) SetAttr(f FID, req SetAttrRequest) error {
	e := newEncoder()
	e.fid(f)
	e.u32(uint32(req.Mask))
	e.u32(req.Mode)
	e.u32(req.UID)
	e.u32(req.GID)
	e.u64(req.Size)
	e.i64(req.Atime)
	e.i64(req.Mtime)
	return empty(c.callNoFD(tSetAttr, e))
}

// StatFS returns filesystem statistics (statfs(2) fields as the server's).
func (c *Client) StatFS(f FID) (StatFS, error) {
	e := newEncoder()
	e.fid(f)
	d, err := c.callNoFD(tStatFS, e)
	if err != nil {
		return StatFS{}, err
	}
	s := StatFS{d.u64(), d.u64(), d.u64(), d.u64(), d.u64(), d.u64(), d.u64(), d.u64()}
	if !d.done() {
		return StatFS{}, linux.EIO
	}
	return s, nil
}

// Release tells the server to close f.
func (c *Client) Release(f FID) error {
	e := newEncoder()
	e.fid(f)
	return empty(c.callNoFD(tRelease, e))
}
