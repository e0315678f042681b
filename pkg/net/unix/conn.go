package unix

import (
	"encoding/binary"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/net"
	"bulwark.dev/pkg/vfs"
)

// Bind implements net.Socket: a path creates the socket file
// (linux.EADDRINUSE if the path exists), a leading NUL names an abstract
// address, the family alone autobinds.
func (e *endpoint) Bind(ctx net.Context, addr []byte) error {
	a, err := parseAddr(addr)
	if err != nil {
		return err
	}
	e.bindMu.Lock()
	defer e.bindMu.Unlock()
	e.mu.Lock()
	bound := e.bound != nil
	e.mu.Unlock()
	if bound {
		if a.path != "" && pathExists(ctx, a.path) {
			return linux.EADDRINUSE // Linux tries the mknod first
		}
		return linux.EINVAL
	}
	var b binding
	if a.unnamed() {
		b, err = e.ns.autobind(e)
	} else {
		b, err = e.ns.bind(ctx, e, a)
	}
	if err != nil {
		return err
	}
	e.setBinding(b)
	return nil
}

// Listen implements net.Socket.
func (e *endpoint) Listen(ctx net.Context, backlog int) error {
	if !e.connOriented() {
		return linux.EOPNOTSUPP
	}
	if backlog < 0 || backlog > linux.SOMAXCONN {
		backlog = linux.SOMAXCONN
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.bound == nil || e.state == stateConnected {
		return linux.EINVAL
	}
	e.state = stateListening
	e.backlog = backlog
	e.listCred = peerCreds(ctx)
	e.notifyLocked()
	return nil
}

// Accept implements net.Socket.
func (e *endpoint) Accept(ctx net.Context, f *vfs.File, flags uint32) (*vfs.File, error) {
	if !e.connOriented() {
		return nil, linux.EOPNOTSUPP
	}
	nonblock := net.NonBlocking(f, 0)
	deadline := e.opts.Deadline(linux.SO_RCVTIMEO)
	e.mu.Lock()
	for len(e.pending) == 0 {
		if e.state != stateListening {
			e.mu.Unlock()
			return nil, linux.EINVAL
		}
		if nonblock {
			e.mu.Unlock()
			return nil, linux.EAGAIN
		}
		if err := e.waitLocked(ctx, deadline); err != nil {
			e.mu.Unlock()
			return nil, err
		}
	}
	s := e.pending[0]
	e.pending = e.pending[1:]
	e.notifyLocked() // room in the backlog for waiting connectors
	e.mu.Unlock()

	s.mu.Lock()
	s.embryo = false
	s.mu.Unlock()
	if e.opts.Bool(linux.SO_PASSCRED) {
		s.opts.Set(linux.SO_PASSCRED, net.Int32(1))
	}
	return net.NewFile(ctx, s, flags), nil
}

// Connect implements net.Socket.
func (e *endpoint) Connect(ctx net.Context, f *vfs.File, addr []byte) error {
	if len(addr) >= 2 && binary.LittleEndian.Uint16(addr) == linux.AF_UNSPEC && !e.connOriented() {
		e.mu.Lock()
		e.peer = nil
		e.mu.Unlock()
		return nil
	}
	a, err := parseAddr(addr)
	if err != nil {
		return err
	}
	if a.unnamed() {
		return linux.EINVAL
	}
	if e.opts.Bool(linux.SO_PASSCRED) {
		if err := e.ensureBound(ctx); err != nil {
			return err
		}
	}
	target, err := e.ns.lookup(ctx, a)
	if err != nil {
		return err
	}
	if target.typ != e.typ {
		return linux.EPROTOTYPE
	}
	if !e.connOriented() {
		target.mu.Lock()
		closed := target.closed
		target.mu.Unlock()
		if closed {
			return linux.ECONNREFUSED
		}
		e.mu.Lock()
		e.peer = target
		e.notifyLocked()
		e.mu.Unlock()
		return nil
	}
	return e.connectStream(ctx, f, target)
}

// connectStream queues a new server-side endpoint on the listener l and
// connects e to it.
func (e *endpoint) connectStream(ctx net.Context, f *vfs.File, l *endpoint) error {
	e.mu.Lock()
	switch e.state {
	case stateConnected:
		e.mu.Unlock()
		return linux.EISCONN
	case stateListening:
		e.mu.Unlock()
		return linux.EINVAL
	}
	e.mu.Unlock()
	nonblock := net.NonBlocking(f, 0)
	deadline := e.opts.Deadline(linux.SO_SNDTIMEO)
	l.mu.Lock()
	for {
		if l.closed || l.state != stateListening {
			l.mu.Unlock()
			return linux.ECONNREFUSED
		}
		if len(l.pending) <= l.backlog {
			break
		}
		if nonblock {
			l.mu.Unlock()
			return linux.EAGAIN
		}
		if err := l.waitLocked(ctx, deadline); err != nil {
			l.mu.Unlock()
			return err
		}
	}
	s := newEndpoint(e.ns, e.typ)
	c := peerCreds(ctx)
	s.state, s.peer, s.name, s.peerCred, s.embryo = stateConnected, e, l.name, &c, true
	l.pending = append(l.pending, s)
	lc := l.listCred
	l.notifyLocked()
	l.mu.Unlock()

	e.mu.Lock()
	e.state, e.peer, e.peerCred = stateConnected, s, &lc
	e.notifyLocked()
	e.mu.Unlock()
	return nil
}

// Shutdown implements net.Socket: the connected peer of a stream or
// seqpacket socket sees the other half shut. Like Linux, an unconnected
// unix socket may be shut down too.
func (e *endpoint) Shutdown(ctx net.Context, how int) error {
	if how < linux.SHUT_RD || how > linux.SHUT_RDWR {
		return linux.EINVAL
	}
	rd := how != linux.SHUT_WR
	wr := how != linux.SHUT_RD
	e.mu.Lock()
	e.shutRcv = e.shutRcv || rd
	e.shutSnd = e.shutSnd || wr
	peer := e.peer
	ws := e.takeWritersLocked()
	e.notifyLocked()
	e.mu.Unlock()
	wake(ws)
	if peer != nil && e.connOriented() {
		peer.mu.Lock()
		if peer.peer == e {
			peer.shutSnd = peer.shutSnd || rd
			peer.shutRcv = peer.shutRcv || wr
			peer.notifyLocked()
		}
		peer.mu.Unlock()
	}
	return nil
}

// GetSockName implements net.Socket.
func (e *endpoint) GetSockName(net.Context) ([]byte, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.name.sockaddr(), nil
}

// GetPeerName implements net.Socket.
func (e *endpoint) GetPeerName(net.Context) ([]byte, error) {
	e.mu.Lock()
	peer := e.peer
	e.mu.Unlock()
	if peer == nil {
		return nil, linux.ENOTCONN
	}
	peer.mu.Lock()
	defer peer.mu.Unlock()
	return peer.name.sockaddr(), nil
}

// pathExists reports whether path names a file (a symlink is not
// followed).
func pathExists(ctx net.Context, path string) bool {
	fs := ctx.FSContext()
	if fs == nil {
		return false
	}
	f, err := vfs.OpenAt(ctx, fs, nil, path, linux.O_PATH|linux.O_NOFOLLOW, 0)
	if err != nil {
		return false
	}
	f.DecRef()
	return true
}
