package unix

import (
	"sync"
	"time"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/net"
	"bulwark.dev/pkg/vfs"
)

// Connection states of an endpoint.
const (
	stateUnconnected = iota
	stateListening
	stateConnected
)

// Queue limits beyond the byte budget (SO_SNDBUF of the sender).
const (
	// msgOverhead is charged per queued datagram or seqpacket record, so
	// empty messages also fill a queue (Linux charges an skb's truesize).
	msgOverhead = 512
	// maxDgramQlen is net.unix.max_dgram_qlen: the most datagrams queued
	// on a socket from senders it is not connected to (Linux allows one
	// more than this).
	maxDgramQlen = 10
)

// message is one queued send: a datagram, a seqpacket record, or a
// stream segment (stream reads may span segments).
type message struct {
	data   []byte
	from   address
	creds  linux.Ucred
	rights []*vfs.File
}

// cost is what m counts against the queue's budget.
func (m *message) cost(stream bool) int {
	if stream {
		return len(m.data)
	}
	return len(m.data) + msgOverhead
}

// endpoint is one AF_UNIX socket; it is the vfs.FileImpl (net.Socket) of
// its file.
//
// Locking: each endpoint's mu guards its own state. Code holds at most one
// endpoint's mu at a time (it reads a peer pointer, unlocks, then locks the
// peer), so there is no lock order between endpoints. Namespace.mu and
// net.Options' lock are leaves taken under or without an endpoint's mu.
// bindMu serializes Bind and autobind of one endpoint and is taken before
// mu.
type endpoint struct {
	ns   *Namespace
	typ  int
	opts *net.Options

	bindMu sync.Mutex

	mu       sync.Mutex
	changed  vfs.Changes            // the waiters of a change of state, guarded by mu
	state    int                    // state*, guarded by mu
	peer     *endpoint              // connected peer or dgram default destination, guarded by mu
	bound    *binding               // own binding (nil: not bound), guarded by mu
	name     address                // getsockname address (an accepted socket has its listener's), guarded by mu
	queue    []*message             // received messages, guarded by mu
	queued   int                    // sum of the queue's cost, guarded by mu
	shutRcv  bool                   // nothing more will be received, guarded by mu
	shutSnd  bool                   // nothing more may be sent, guarded by mu
	closed   bool                   // released, guarded by mu
	err      linux.Errno            // pending SO_ERROR, guarded by mu
	backlog  int                    // listen backlog, guarded by mu
	pending  []*endpoint            // connections waiting for accept, guarded by mu
	peerCred *linux.Ucred           // SO_PEERCRED, guarded by mu
	listCred linux.Ucred            // creds at listen time (the peer cred of connectors), guarded by mu
	writers  map[*endpoint]struct{} // senders waiting for room in queue, guarded by mu
	embryo   bool                   // queued on a listener, not yet accepted, guarded by mu
}

func newEndpoint(ns *Namespace, typ int) *endpoint {
	return &endpoint{ns: ns, typ: typ, opts: net.NewOptions()}
}

// stream reports whether e is a byte stream.
func (e *endpoint) stream() bool { return e.typ == linux.SOCK_STREAM }

// connOriented reports whether e needs a connection (stream, seqpacket).
func (e *endpoint) connOriented() bool { return e.typ != linux.SOCK_DGRAM }

// notifyLocked wakes everyone waiting on e. e.mu must be held.
func (e *endpoint) notifyLocked() {
	e.changed.Notify()
}

func (e *endpoint) notify() {
	e.mu.Lock()
	e.notifyLocked()
	e.mu.Unlock()
}

// waitLocked releases e.mu, blocks until e changes, a signal or deadline
// (see net.Block) and retakes e.mu.
func (e *endpoint) waitLocked(ctx vfs.Context, deadline time.Time) error {
	ch := e.changed.Chan()
	e.mu.Unlock()
	err := net.Block(ctx, ch, deadline)
	e.mu.Lock()
	return err
}

// peerCreds are the SO_PEERCRED the caller gives its peer: tgid, euid,
// egid.
func peerCreds(ctx net.Context) linux.Ucred {
	c := ctx.Credentials()
	return linux.Ucred{PID: ctx.PID(), UID: c.EffectiveUID, GID: c.EffectiveGID}
}

// scmCreds are the SCM_CREDENTIALS a message carries by default: tgid,
// real uid, real gid.
func scmCreds(ctx net.Context) linux.Ucred {
	c := ctx.Credentials()
	return linux.Ucred{PID: ctx.PID(), UID: c.RealUID, GID: c.RealGID}
}

// takeWritersLocked returns and forgets the senders waiting for room.
func (e *endpoint) takeWritersLocked() []*endpoint {
	if len(e.writers) == 0 {
		return nil
	}
	out := make([]*endpoint, 0, len(e.writers))
	for w := range e.writers {
		out = append(out, w)
	}
	e.writers = nil
	return out
}

// wake notifies each endpoint of ws (called without locks).
func wake(ws []*endpoint) {
	for _, w := range ws {
		w.notify()
	}
}

// roomFor reports whether e may queue a message of cost c from sender
// (with send buffer sndbuf); when not, it registers sender to be woken
// when the queue drains. e.mu must be held.
func (e *endpoint) roomForLocked(sender *endpoint, c, sndbuf int, partial bool) int {
	room := sndbuf - e.queued
	if !e.stream() && e.peer != sender && len(e.queue) > maxDgramQlen {
		room = 0
	}
	if room <= 0 || (!partial && room < c) {
		if e.writers == nil {
			e.writers = map[*endpoint]struct{}{}
		}
		e.writers[sender] = struct{}{}
		return 0
	}
	return room
}

// Readiness implements vfs.Waiter.
func (e *endpoint) Readiness(mask uint32) uint32 {
	e.mu.Lock()
	var r uint32
	if e.err != 0 {
		r |= linux.POLLERR
	}
	if e.shutRcv {
		r |= linux.POLLRDHUP | linux.POLLIN | linux.POLLRDNORM
	}
	if e.shutRcv && e.shutSnd {
		r |= linux.POLLHUP
	}
	if len(e.queue) > 0 || len(e.pending) > 0 {
		r |= linux.POLLIN | linux.POLLRDNORM
	}
	if e.connOriented() && e.state == stateUnconnected {
		r |= linux.POLLHUP
	}
	state, peer := e.state, e.peer
	e.mu.Unlock()
	if state != stateListening && mask&(linux.POLLOUT|linux.POLLWRNORM) != 0 && e.writable(peer) {
		r |= linux.POLLOUT | linux.POLLWRNORM
	}
	return r & (mask | linux.POLLHUP | linux.POLLERR)
}

// writable reports whether a send to peer would not block now.
func (e *endpoint) writable(peer *endpoint) bool {
	if peer == nil {
		return true
	}
	sndbuf := int(e.opts.Int(linux.SO_SNDBUF))
	peer.mu.Lock()
	defer peer.mu.Unlock()
	if peer.closed || peer.shutRcv {
		return true
	}
	cost := 1
	if !e.stream() {
		cost = msgOverhead
	}
	return peer.roomForLocked(e, cost, sndbuf, false) > 0
}

// Notify implements vfs.Waiter.
func (e *endpoint) Notify() <-chan struct{} {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.changed.Chan()
}

// Release implements vfs.FileImpl: the peer sees end of file (and
// ECONNRESET if data it sent was never read), pending connections are
// reset, in-flight files are closed and the name is freed.
func (e *endpoint) Release() {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return
	}
	e.closed = true
	peer, queue, pending, bound := e.peer, e.queue, e.pending, e.bound
	reset := len(queue) > 0 || e.embryo
	e.queue, e.queued, e.pending, e.bound = nil, 0, nil, nil
	e.shutRcv, e.shutSnd = true, true
	writers := e.takeWritersLocked()
	e.notifyLocked()
	e.mu.Unlock()

	if bound != nil {
		e.ns.unbind(e, *bound)
	}
	for _, m := range queue {
		releaseFiles(m.rights)
	}
	for _, p := range pending {
		p.Release()
	}
	if peer != nil && e.connOriented() {
		peer.mu.Lock()
		if peer.peer == e {
			peer.shutRcv, peer.shutSnd = true, true
			if reset {
				peer.err = linux.ECONNRESET
			}
			peer.notifyLocked()
		}
		peer.mu.Unlock()
	}
	wake(writers)
}

func releaseFiles(fs []*vfs.File) {
	for _, f := range fs {
		f.DecRef()
	}
}

// Read implements vfs.FileImpl (read(2) is recv with no flags).
func (e *endpoint) Read(ctx vfs.Context, f *vfs.File, dst []byte, _ int64) (int, error) {
	nctx, ok := ctx.(net.Context)
	if !ok {
		nctx = plainContext{ctx}
	}
	res, err := e.RecvMsg(nctx, f, dst, 0)
	res.Control.Release()
	return res.N, err
}

// Write implements vfs.FileImpl (write(2) is send with no flags).
func (e *endpoint) Write(ctx vfs.Context, f *vfs.File, src []byte, _ int64) (int, error) {
	nctx, ok := ctx.(net.Context)
	if !ok {
		nctx = plainContext{ctx}
	}
	return e.SendMsg(nctx, f, net.SendRequest{Data: src})
}

// plainContext adapts a vfs.Context that is not a task (no PID, no
// filesystem context).
type plainContext struct{ vfs.Context }

func (plainContext) PID() int32 { return 0 }

func (plainContext) FSContext() *vfs.FSContext { return nil }
