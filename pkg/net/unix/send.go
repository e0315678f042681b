package unix

import (
	"time"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/net"
	"bulwark.dev/pkg/vfs"
)

// SendMsg implements net.Socket.
func (e *endpoint) SendMsg(ctx net.Context, f *vfs.File, req net.SendRequest) (int, error) {
	ctl := req.Control
	defer func() { ctl.Release() }()
	if req.Flags&linux.MSG_OOB != 0 {
		return 0, linux.EOPNOTSUPP
	}
	if e.opts.Bool(linux.SO_PASSCRED) {
		if err := e.ensureBound(ctx); err != nil {
			return 0, err
		}
	}
	target, err := e.sendTarget(ctx, req.To)
	if err != nil {
		return 0, err
	}
	e.mu.Lock()
	var from address
	if e.bound != nil {
		from = e.bound.addr
	}
	e.mu.Unlock()
	m := &message{data: req.Data, from: from, creds: scmCreds(ctx), rights: ctl.Rights}
	if ctl.Creds != nil {
		m.creds = *ctl.Creds
	}
	ctl.Rights = nil // m owns them now
	nonblock := net.NonBlocking(f, req.Flags)
	deadline := e.opts.Deadline(linux.SO_SNDTIMEO)
	if e.stream() {
		return e.sendStream(ctx, target, m, nonblock, deadline)
	}
	return e.sendRecord(ctx, target, m, nonblock, deadline)
}

// sendTarget returns the endpoint a send goes to.
func (e *endpoint) sendTarget(ctx net.Context, to []byte) (*endpoint, error) {
	e.mu.Lock()
	state, peer := e.state, e.peer
	e.mu.Unlock()
	switch e.typ {
	case linux.SOCK_STREAM:
		if to != nil {
			if state == stateConnected {
				return nil, linux.EISCONN
			}
			return nil, linux.EOPNOTSUPP
		}
		fallthrough
	case linux.SOCK_SEQPACKET:
		if state != stateConnected {
			return nil, linux.ENOTCONN
		}
		return peer, nil
	}
	if to == nil {
		if peer == nil {
			return nil, linux.ENOTCONN
		}
		return peer, nil
	}
	a, err := parseAddr(to)
	if err != nil {
		return nil, err
	}
	t, err := e.ns.lookup(ctx, a)
	if err != nil {
		return nil, err
	}
	if t.typ != e.typ {
		return nil, linux.EPROTOTYPE
	}
	return t, nil
}

// sendStream queues m's data on target, in pieces as room appears; the
// first piece carries the rights.
func (e *endpoint) sendStream(ctx net.Context, target *endpoint, m *message, nonblock bool, deadline time.Time) (int, error) {
	done := 0
	defer func() { releaseFiles(m.rights) }()
	for {
		e.mu.Lock()
		shut, ch := e.shutSnd, e.changed.Chan()
		e.mu.Unlock()
		if shut {
			return partial(done, linux.EPIPE)
		}
		sndbuf := int(e.opts.Int(linux.SO_SNDBUF))
		target.mu.Lock()
		if target.closed || target.shutRcv {
			target.mu.Unlock()
			return partial(done, linux.EPIPE)
		}
		rest := len(m.data) - done
		if rest == 0 {
			target.mu.Unlock()
			return 0, nil // Linux sends nothing, not even rights
		}
		if room := target.roomForLocked(e, rest, sndbuf, true); room > 0 {
			n := min(room, rest)
			seg := &message{data: m.data[done : done+n], from: m.from, creds: m.creds, rights: m.rights}
			m.rights = nil
			target.queue = append(target.queue, seg)
			target.queued += n
			target.notifyLocked()
			target.mu.Unlock()
			done += n
			if done == len(m.data) {
				return done, nil
			}
			continue
		}
		target.mu.Unlock()
		if nonblock {
			return partial(done, linux.EAGAIN)
		}
		if err := net.Block(ctx, ch, deadline); err != nil {
			return partial(done, err)
		}
	}
}

// partial returns done when something was sent, else err.
func partial(done int, err error) (int, error) {
	if done > 0 {
		return done, nil
	}
	return 0, err
}

// sendRecord queues m whole on target (datagram and seqpacket).
func (e *endpoint) sendRecord(ctx net.Context, target *endpoint, m *message, nonblock bool, deadline time.Time) (int, error) {
	sndbuf := int(e.opts.Int(linux.SO_SNDBUF))
	if len(m.data) > sndbuf-32 {
		releaseFiles(m.rights)
		return 0, linux.EMSGSIZE
	}
	for {
		e.mu.Lock()
		shut, ch := e.shutSnd, e.changed.Chan()
		e.mu.Unlock()
		if shut {
			releaseFiles(m.rights)
			return 0, linux.EPIPE
		}
		target.mu.Lock()
		if err := e.checkTargetLocked(target); err != nil {
			target.mu.Unlock()
			releaseFiles(m.rights)
			if err == linux.ECONNREFUSED {
				e.forgetDeadPeer(target)
			}
			return 0, err
		}
		if target.roomForLocked(e, m.cost(false), sndbuf, false) > 0 {
			target.queue = append(target.queue, m)
			target.queued += m.cost(false)
			target.notifyLocked()
			target.mu.Unlock()
			return len(m.data), nil
		}
		target.mu.Unlock()
		if nonblock {
			releaseFiles(m.rights)
			return 0, linux.EAGAIN
		}
		if err := net.Block(ctx, ch, deadline); err != nil {
			releaseFiles(m.rights)
			return 0, err
		}
	}
}

// checkTargetLocked says whether e may send a record to target now.
// target.mu must be held.
func (e *endpoint) checkTargetLocked(target *endpoint) error {
	switch {
	case target.closed && e.connOriented():
		return linux.EPIPE
	case target.closed:
		return linux.ECONNREFUSED
	case !e.connOriented() && target.peer != nil && target.peer != e:
		return linux.EPERM
	case target.shutRcv:
		return linux.EPIPE
	}
	return nil
}

// forgetDeadPeer disconnects a datagram socket whose peer is gone: the
// first send reports ECONNREFUSED, later ones ENOTCONN (as Linux).
func (e *endpoint) forgetDeadPeer(dead *endpoint) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.peer == dead {
		e.peer = nil
	}
}

// ensureBound autobinds an unnamed socket (for SO_PASSCRED senders).
func (e *endpoint) ensureBound(ctx net.Context) error {
	e.bindMu.Lock()
	defer e.bindMu.Unlock()
	e.mu.Lock()
	bound := e.bound != nil
	e.mu.Unlock()
	if bound {
		return nil
	}
	b, err := e.ns.autobind(e)
	if err != nil {
		return err
	}
	e.setBinding(b)
	return nil
}

// setBinding records b as e's own name.
func (e *endpoint) setBinding(b binding) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.bound = &b
	e.name = b.addr
}
