package unix

import (
	"encoding/binary"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/net"
	"bulwark.dev/pkg/vfs"
)

// GetSockOpt implements net.Socket: SOL_SOCKET options only (other levels
// fail with linux.EOPNOTSUPP, as for Linux's unix sockets).
func (e *endpoint) GetSockOpt(_ net.Context, level, name, _ int) ([]byte, error) {
	if level != linux.SOL_SOCKET {
		return nil, linux.EOPNOTSUPP
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	switch name {
	case linux.SO_TYPE:
		return net.Int32(int32(e.typ)), nil
	case linux.SO_DOMAIN:
		return net.Int32(linux.AF_UNIX), nil
	case linux.SO_PROTOCOL:
		return net.Int32(0), nil
	case linux.SO_ERROR:
		err := e.err
		e.err = 0
		return net.Int32(int32(err)), nil
	case linux.SO_ACCEPTCONN:
		return net.Bool32(e.state == stateListening), nil
	case linux.SO_PEERCRED:
		c := linux.Ucred{UID: ^uint32(0), GID: ^uint32(0)}
		if e.peerCred != nil {
			c = *e.peerCred
		}
		return net.EncodeUcred(c), nil
	}
	if v, ok := e.opts.Get(name); ok {
		return v, nil
	}
	return nil, linux.ENOPROTOOPT
}

// SetSockOpt implements net.Socket.
func (e *endpoint) SetSockOpt(_ net.Context, level, name int, val []byte) error {
	if level != linux.SOL_SOCKET {
		return linux.EOPNOTSUPP
	}
	ok, err := e.opts.Set(name, val)
	if !ok {
		return linux.ENOPROTOOPT
	}
	if err == nil && (name == linux.SO_SNDBUF || name == linux.SO_SNDBUFFORCE) {
		e.notify() // more room may make the socket writable
	}
	return err
}

// Ioctl implements vfs.Ioctler: FIONREAD (SIOCINQ) is the unread bytes of
// a stream socket or the size of the next datagram; TIOCOUTQ (SIOCOUTQ)
// is what e sent that its peer has not read yet.
func (e *endpoint) Ioctl(ctx vfs.Context, _ *vfs.File, cmd uint32, arg uintptr) (uintptr, error) {
	var n int
	switch cmd {
	case linux.FIONREAD:
		e.mu.Lock()
		if e.state == stateListening {
			e.mu.Unlock()
			return 0, linux.EINVAL
		}
		switch {
		case e.stream():
			n = e.queued
		case len(e.queue) > 0:
			n = len(e.queue[0].data)
		}
		e.mu.Unlock()
	case tiocoutq:
		e.mu.Lock()
		peer := e.peer
		e.mu.Unlock()
		if peer != nil {
			peer.mu.Lock()
			for _, m := range peer.queue {
				n += len(m.data)
			}
			peer.mu.Unlock()
		}
	default:
		return 0, linux.ENOTTY
	}
	if _, err := ctx.CopyOut(arg, binary.LittleEndian.AppendUint32(nil, uint32(n))); err != nil {
		return 0, err
	}
	return 0, nil
}

// tiocoutq is TIOCOUTQ (SIOCOUTQ).
const tiocoutq = 0x5411
