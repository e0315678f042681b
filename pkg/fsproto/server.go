package fsproto

import (
	"errors"
	"fmt"
	"io"
	"log"
	"sync"

	"bulwark.dev/pkg/abi/linux"
	"golang.org/x/sys/unix"
)

// maxInflight is how many of one connection's requests are served at
// once: the number of its worker goroutines.
const maxInflight = 8

// ServerOptions configure a Server.
type ServerOptions struct {
	// ReadOnly makes every operation that would change the tree fail with
	// EROFS (and Open for writing or with O_TRUNC).
	ReadOnly bool
	// Log, if set, receives one line per failed request and per connection
	// event; Debug adds one line per request.
	Log   *log.Logger
	Debug bool
}

// Server serves one mount's host tree. It never resolves a host path of
// more than one component and never follows a symlink: every lookup is
// openat(dirfd, name, O_PATH|O_NOFOLLOW) relative to a directory it holds,
// ".." is answered from its own tree and stops at the root.
//
// Lock order: Server.mu only (node fields are guarded by it).
type Server struct {
	opts ServerOptions
	root *node // what Attach returns

	// mu guards the node tree and the sessions' FID tables. Operations that
	// change host names (create, rename, unlink, ...) hold it for writing
	// across their host syscalls, and Open holds it for reading while it
	// opens by parent and name, so the tree always matches what the server
	// itself did to the host.
	mu sync.RWMutex
}

// NewServer serves the directory rootFD (an O_PATH fd; the server takes
// ownership).
func NewServer(rootFD int, opts ServerOptions) (*Server, error) {
	var st unix.Stat_t
	if err := fstat(rootFD, &st); err != nil {
		unix.Close(rootFD)
		return nil, fmt.Errorf("stat of root fd %d: %w", rootFD, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		unix.Close(rootFD)
		return nil, fmt.Errorf("root fd %d is not a directory", rootFD)
	}
	root := newNode(rootFD, &st)
	root.refs = 1 // the server's own
	return &Server{opts: opts, root: root}, nil
}

// NewFileServer serves the single non-directory file name in the directory
// dirFD (an O_PATH fd; the server takes ownership), for a file bind mount.
// name must not be a symlink.
func NewFileServer(dirFD int, name string, opts ServerOptions) (*Server, error) {
	dir, err := NewServer(dirFD, opts)
	if err != nil {
		return nil, err
	}
	if err := checkName(name); err != nil {
		dir.Close()
		return nil, fmt.Errorf("file name %q: %w", name, err)
	}
	fd, err := unix.Openat(dirFD, name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		dir.Close()
		return nil, fmt.Errorf("opening %q: %w", name, err)
	}
	var st unix.Stat_t
	if err := fstat(fd, &st); err != nil {
		unix.Close(fd)
		dir.Close()
		return nil, fmt.Errorf("stat of %q: %w", name, err)
	}
	if t := st.Mode & unix.S_IFMT; t == unix.S_IFDIR || t == unix.S_IFLNK {
		unix.Close(fd)
		dir.Close()
		return nil, fmt.Errorf("%q is a directory or a symlink, not a file", name)
	}
	root := newNode(fd, &st)
	root.refs = 1
	dir.root.attach(name, root) // the hidden directory is only used to open root
	dir.root.decRef()           // root's reference keeps it
	dir.root = root
	return dir, nil
}

// Close drops the server's reference on the tree. Call it after every
// Serve has returned.
func (s *Server) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.root != nil {
		s.root.decRef()
		s.root = nil
	}
	return nil
}

// session is one connection's state: its FID table (guarded by Server.mu).
type session struct {
	srv     *Server
	conn    *conn
	fids    map[FID]*node
	nextFID FID
}

// Serve serves one connection (connFD, a connected SOCK_SEQPACKET socket;
// Serve takes ownership) until the peer closes it, then releases the
// connection's FIDs. It returns nil when the peer closed the connection
// (even with replies unread) and an error when the connection failed or
// the peer broke the protocol.
//
// Workers each read a request with a blocking recvmsg, serve it and send
// the reply themselves: no goroutine is started and no other thread woken
// per request. A worker that takes a request when no other is waiting for
// one starts another, up to maxInflight, so that one slow request does not
// hold up the next; a connection used by one caller at a time needs two.
func (s *Server) Serve(connFD int) error {
	cn, err := newConn(connFD)
	if err != nil {
		return err
	}
	ss := &session{srv: s, conn: cn, fids: make(map[FID]*node)}
	p := &workers{ss: ss}
	p.start()
	p.wg.Wait()
	cn.close()
	ss.releaseAll()
	return errors.Join(p.errs...)
}

// workers are one connection's worker goroutines.
type workers struct {
	ss *session
	wg sync.WaitGroup

	mu   sync.Mutex // guards the fields below
	n    int        // workers started
	idle int        // workers waiting for a request
	errs []error    // why workers stopped, for Serve
}

// start starts a worker.
func (p *workers) start() {
	p.mu.Lock()
	p.n++
	p.idle++
	p.mu.Unlock()
	p.wg.Go(func() {
		if err := p.work(); err != nil {
			p.mu.Lock()
			p.errs = append(p.errs, err)
			p.mu.Unlock()
			p.ss.conn.shutdown() // stops the other workers
		}
	})
}

// took accounts for a worker that received a request, starting another
// if none is left waiting.
func (p *workers) took() {
	p.mu.Lock()
	p.idle--
	grow := p.idle == 0 && p.n < maxInflight
	p.mu.Unlock()
	if grow {
		p.start()
	}
}

// done accounts for a worker waiting for a request again.
func (p *workers) done() {
	p.mu.Lock()
	p.idle++
	p.mu.Unlock()
}

// work serves requests until the connection ends: nil when the peer
// closed it (or another worker shut it down), else why it failed.
func (p *workers) work() error {
	buf := make([]byte, MaxMessage)
	oob := make([]byte, oobSize)
	for {
		msg, fds, err := p.ss.conn.recv(buf, oob)
		closeAll(fds) // requests never carry fds
		if errors.Is(err, io.EOF) || errors.Is(err, unix.ECONNRESET) {
			return nil // the peer went away, maybe with replies unread
		}
		if err != nil {
			return fmt.Errorf("reading request: %w", err)
		}
		h, body, ok := parseHeader(msg)
		if !ok {
			return fmt.Errorf("malformed request header (%d bytes)", len(msg))
		}
		p.took()
		p.ss.serveOne(h, body)
		p.done()
	}
}

// handler decodes a request body, performs it and encodes the result into
// e. It returns an fd to donate with the reply (which the caller closes
// after sending) or -1.
type handler func(ss *session, d *decoder, e *encoder) (int, error)

// handlers maps each message type to its handler.
var handlers [numTypes]handler

func init() {
	handlers = [numTypes]handler{
		tAttach:     (*session).attach,
		tWalk:       (*session).walk,
		tWalkParent: (*session).walkParent,
		tStat:       (*session).stat,
		tOpen:       (*session).open,
		tReaddir:    (*session).readdir,
		tReadlink:   (*session).readlink,
		tCreate:     (*session).create,
		tMkdir:      (*session).mkdir,
		tMknod:      (*session).mknod,
		tSymlink:    (*session).symlink,
		tLink:       (*session).link,
		tUnlink:     (*session).unlink,
		tRename:     (*session).rename,
		tSetAttr:    (*session).setAttr,
		tStatFS:     (*session).statFS,
		tRelease:    (*session).release,
		tStatAt:     (*session).statAt,
	}
}

// serveOne runs one request and sends its reply.
func (ss *session) serveOne(h header, body []byte) {
	fd, err := -1, error(linux.ENOSYS)
	e := newEncoder()
	if h.Type < numTypes && handlers[h.Type] != nil {
		fd, err = handlers[h.Type](ss, &decoder{b: body}, e)
	}
	errno := toErrno(err)
	if errno != 0 {
		e = newEncoder()
		if fd >= 0 {
			unix.Close(fd)
			fd = -1
		}
	}
	if l := ss.srv.opts.Log; l != nil && (ss.srv.opts.Debug || (errno != 0 && errno != linux.ENOENT)) {
		l.Printf("gofer: %s tag %d: errno %d (%v)", h.Type, h.Tag, errno, err)
	}
	if err := ss.conn.send(e.finish(h.Tag, h.Type, errno), fd); err != nil && ss.srv.opts.Log != nil {
		ss.srv.opts.Log.Printf("gofer: sending %s reply: %v", h.Type, err)
	}
	if fd >= 0 {
		unix.Close(fd)
	}
}

// toErrno maps an error to the errno sent to the client.
func toErrno(err error) linux.Errno {
	var le linux.Errno
	var ue unix.Errno
	switch {
	case err == nil:
		return 0
	case errors.As(err, &le):
		return le
	case errors.As(err, &ue):
		return linux.Errno(ue)
	default:
		return linux.EIO
	}
}

// releaseAll drops every FID of a finished session.
func (ss *session) releaseAll() {
	ss.srv.mu.Lock()
	defer ss.srv.mu.Unlock()
	for f, n := range ss.fids {
		delete(ss.fids, f)
		n.decRef()
	}
}

// newFID names n with a new FID (taking a reference). Server.mu must be
// held for writing.
func (ss *session) newFID(n *node) FID {
	ss.nextFID++
	for ss.nextFID == 0 || ss.fids[ss.nextFID] != nil {
		ss.nextFID++
	}
	n.incRef()
	ss.fids[ss.nextFID] = n
	return ss.nextFID
}

// newFIDLocked is newFID taking Server.mu.
func (ss *session) newFIDLocked(n *node) FID {
	ss.srv.mu.Lock()
	defer ss.srv.mu.Unlock()
	return ss.newFID(n)
}

// get returns the node f names with a reference the caller drops with put.
func (ss *session) get(f FID) (*node, error) {
	ss.srv.mu.Lock()
	defer ss.srv.mu.Unlock()
	n := ss.fids[f]
	if n == nil {
		return nil, linux.EBADF
	}
	n.incRef()
	return n, nil
}

// getDir is get for a FID that must name a directory.
func (ss *session) getDir(f FID) (*node, error) {
	n, err := ss.get(f)
	if err != nil {
		return nil, err
	}
	if !n.isDir() {
		ss.put(n)
		return nil, linux.ENOTDIR
	}
	return n, nil
}

// put drops a reference taken by get.
func (ss *session) put(n *node) {
	ss.srv.mu.Lock()
	defer ss.srv.mu.Unlock()
	n.decRef()
}
