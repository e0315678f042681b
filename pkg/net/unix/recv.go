package unix

import (
	"time"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/net"
	"bulwark.dev/pkg/vfs"
)

// RecvMsg implements net.Socket.
func (e *endpoint) RecvMsg(ctx net.Context, f *vfs.File, dst []byte, flags uint32) (net.RecvResult, error) {
	if flags&linux.MSG_OOB != 0 {
		return net.RecvResult{}, linux.EOPNOTSUPP
	}
	nonblock := net.NonBlocking(f, flags)
	deadline := e.opts.Deadline(linux.SO_RCVTIMEO)
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case e.typ == linux.SOCK_STREAM && e.state != stateConnected:
		return net.RecvResult{}, linux.EINVAL
	case e.typ == linux.SOCK_SEQPACKET && e.state != stateConnected:
		return net.RecvResult{}, linux.ENOTCONN
	}
	if e.stream() {
		return e.recvStreamLocked(ctx, dst, flags, nonblock, deadline)
	}
	return e.recvRecordLocked(ctx, dst, flags, nonblock, deadline)
}

// waitDataLocked waits until e has queued data. eof is true when there is
// none and none will come; err is SO_ERROR, EAGAIN or a signal.
func (e *endpoint) waitDataLocked(ctx vfs.Context, nonblock bool, deadline time.Time) (eof bool, err error) {
	for len(e.queue) == 0 {
		if e.err != 0 {
			err, e.err = e.err, 0
			return false, err
		}
		if e.shutRcv {
			return true, nil
		}
		if nonblock {
			return false, linux.EAGAIN
		}
		if err := e.waitLocked(ctx, deadline); err != nil {
			return false, err
		}
	}
	return false, nil
}

// dequeuedLocked wakes the senders waiting for room in e's queue. It
// drops e.mu while doing so (one endpoint lock at a time), so callers
// re-check state afterwards.
func (e *endpoint) dequeuedLocked() {
	ws := e.takeWritersLocked()
	if len(ws) > 0 {
		e.mu.Unlock()
		wake(ws)
		e.mu.Lock()
	}
}

// takeRights returns m's rights for the receiver: moved, or duplicated
// with new references when peeking.
func takeRights(m *message, peek bool) []*vfs.File {
	if len(m.rights) == 0 {
		return nil
	}
	if !peek {
		r := m.rights
		m.rights = nil
		return r
	}
	out := make([]*vfs.File, len(m.rights))
	for i, f := range m.rights {
		f.IncRef()
		out[i] = f
	}
	return out
}

// recvStreamLocked reads bytes across segments. It stops after a segment
// that carried rights, and (with SO_PASSCRED) where the sender's
// credentials change; MSG_WAITALL waits for len(dst) bytes.
func (e *endpoint) recvStreamLocked(ctx net.Context, dst []byte, flags uint32, nonblock bool, deadline time.Time) (net.RecvResult, error) {
	var res net.RecvResult
	peek := flags&linux.MSG_PEEK != 0
	waitAll := flags&linux.MSG_WAITALL != 0 && !peek
	passCred := e.opts.Bool(linux.SO_PASSCRED)
	first := true
	for {
		eof, err := e.waitDataLocked(ctx, nonblock || (!first && !waitAll), deadline)
		if err != nil || eof {
			if res.N > 0 {
				return res, nil
			}
			return res, err
		}
		stop := false
		consumed := 0
		for i := 0; i < len(e.queue) && res.N < len(dst); i++ {
			m := e.queue[i]
			if passCred && !first && res.Control.Creds != nil && *res.Control.Creds != m.creds {
				stop = true
				break
			}
			if first {
				res.From = m.from.fromAddr()
				if passCred {
					c := m.creds
					res.Control.Creds = &c
				}
				first = false
			}
			n := copy(dst[res.N:], m.data)
			res.N += n
			rights := takeRights(m, peek)
			if !peek {
				m.data = m.data[n:]
				e.queued -= n
				if len(m.data) == 0 {
					consumed++
				}
			}
			if rights != nil {
				res.Control.Rights = append(res.Control.Rights, rights...)
				stop = true
				break
			}
		}
		if consumed > 0 {
			e.queue = e.queue[consumed:]
			if len(e.queue) == 0 {
				e.queue = nil
			}
		}
		if !peek {
			e.notifyLocked()
			e.dequeuedLocked()
		}
		if stop || peek || !waitAll || res.N >= len(dst) {
			res.Len = res.N
			return res, nil
		}
	}
}

// recvRecordLocked receives one datagram or seqpacket record; the part
// that does not fit is discarded (MSG_TRUNC in the flags).
func (e *endpoint) recvRecordLocked(ctx net.Context, dst []byte, flags uint32, nonblock bool, deadline time.Time) (net.RecvResult, error) {
	var res net.RecvResult
	eof, err := e.waitDataLocked(ctx, nonblock, deadline)
	if err != nil || eof {
		return res, err
	}
	peek := flags&linux.MSG_PEEK != 0
	m := e.queue[0]
	if !peek {
		e.queue = e.queue[1:]
		e.queued -= m.cost(false)
		if len(e.queue) == 0 {
			e.queue = nil
		}
	}
	res.N = copy(dst, m.data)
	res.Len = res.N
	if res.N < len(m.data) {
		res.Flags |= linux.MSG_TRUNC
		if flags&linux.MSG_TRUNC != 0 {
			res.Len = len(m.data)
		}
	}
	res.From = m.from.fromAddr()
	if e.opts.Bool(linux.SO_PASSCRED) {
		c := m.creds
		res.Control.Creds = &c
	}
	res.Control.Rights = takeRights(m, peek)
	if !peek {
		e.notifyLocked()
		e.dequeuedLocked()
	}
	return res, nil
}
