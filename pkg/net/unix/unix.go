// Package unix implements AF_UNIX sockets inside the sandbox kernel:
// SOCK_STREAM, SOCK_DGRAM and SOCK_SEQPACKET; path-bound (a socket file
// in the sandbox's own mount tree), abstract and unnamed addresses;
// socketpair; SCM_RIGHTS and SCM_CREDENTIALS; SO_PEERCRED. Nothing here
// touches a host socket.
package unix

import (
	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/net"
)

// Family is the AF_UNIX net.Family of one sandbox: its sockets share a
// Namespace of bound names.
type Family struct {
	ns *Namespace
}

// NewFamily returns AF_UNIX with a fresh namespace.
func NewFamily() *Family { return &Family{ns: NewNamespace()} }

// Register adds a new AF_UNIX family to s.
func Register(s *net.Stack) { s.Register(linux.AF_UNIX, NewFamily()) }

// checkType validates socket(2)'s type and protocol for AF_UNIX.
func checkType(typ, protocol int) error {
	if protocol != 0 && protocol != linux.AF_UNIX {
		return linux.EPROTONOSUPPORT
	}
	switch typ {
	case linux.SOCK_STREAM, linux.SOCK_DGRAM, linux.SOCK_SEQPACKET, linux.SOCK_RAW:
		return nil
	}
	return linux.ESOCKTNOSUPPORT
}

// realType maps SOCK_RAW to SOCK_DGRAM, as Linux does for AF_UNIX.
func realType(typ int) int {
	if typ == linux.SOCK_RAW {
		return linux.SOCK_DGRAM
	}
	return typ
}

// Socket implements net.Family.
func (fam *Family) Socket(_ net.Context, typ, protocol int) (net.Socket, error) {
	if err := checkType(typ, protocol); err != nil {
		return nil, err
	}
	return newEndpoint(fam.ns, realType(typ)), nil
}

// Pair implements net.Family: two connected, unnamed sockets whose
// SO_PEERCRED is the caller.
func (fam *Family) Pair(ctx net.Context, typ, protocol int) (net.Socket, net.Socket, error) {
	if err := checkType(typ, protocol); err != nil {
		return nil, nil, err
	}
	a, b := newEndpoint(fam.ns, realType(typ)), newEndpoint(fam.ns, realType(typ))
	c := peerCreds(ctx)
	a.state, a.peer, a.peerCred = stateConnected, b, &c
	c2 := c
	b.state, b.peer, b.peerCred = stateConnected, a, &c2
	return a, b, nil
}
