// Package inet implements AF_INET, AF_INET6 and AF_NETLINK (NETLINK_ROUTE)
// sockets of the sandbox kernel by backing each with a host socket that
// the kernel creates in the sandbox process's network namespace: the
// container's own (a fresh one with only loopback in --network=none, the
// spec's or the host's in --network=host). The application never holds a
// host fd (DESIGN.md invariant 1): it gets a sandbox file whose
// operations this package turns into host calls of its choosing, on its
// own non-blocking fd, with interruptible waits driven by one host epoll
// instance (Poller).
//
// What the host calls may do is bounded twice: here (an allowlist of
// socket options and ioctls, netlink requests limited to GETs) and by the
// sandbox's seccomp filter, which allows the same sets (HostOpts,
// IoctlRequests, SocketArgs).
//
// AF_PACKET and SOCK_RAW sockets are refused with EPERM, what Linux gives
// a process without CAP_NET_RAW; ICMP "ping" datagram sockets with
// EACCES, what Linux gives outside net.ipv4.ping_group_range. A
// container whose spec grants CAP_NET_RAW would get them from Linux; they
// are refused here until the host calls they need are allowed.
package inet

import (
	"fmt"

	"golang.org/x/sys/unix"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/net"
	"bulwark.dev/pkg/vfs"
)

// Family is AF_INET or AF_INET6 over host sockets.
type Family struct {
	domain int
	p      *Poller
}

// Register creates the sandbox's Poller and registers AF_INET, AF_INET6,
// AF_NETLINK and a refusing AF_PACKET on s.
func Register(s *net.Stack) error {
	p, err := NewPoller()
	if err != nil {
		return err
	}
	s.Register(linux.AF_INET, &Family{domain: linux.AF_INET, p: p})
	s.Register(linux.AF_INET6, &Family{domain: linux.AF_INET6, p: p})
	s.Register(linux.AF_NETLINK, &NetlinkFamily{p: p})
	s.Register(linux.AF_PACKET, refused{})
	// Interface requests on sockets of any family (AF_UNIX included) are
	// answered through one UDP socket of ours in the same namespace.
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|hostType, unix.IPPROTO_UDP)
	if err != nil {
		return fmt.Errorf("creating the interface-request socket: %w", err)
	}
	s.SetInterfaceIoctl(func(ctx vfs.Context, cmd uint32, arg uintptr) (uintptr, bool, error) {
		return ifIoctl(fd, ctx, cmd, arg)
	})
	return nil
}

// SocketArg is one (domain, type, protocol) the sandbox passes to the
// host's socket(2); type always carries SOCK_NONBLOCK|SOCK_CLOEXEC.
type SocketArg struct{ Domain, Type, Protocol int }

// hostType is the type flags of every host socket.
const hostType = unix.SOCK_NONBLOCK | unix.SOCK_CLOEXEC

// SocketArgs returns every socket(2) argument triple this package uses
// (the seccomp filter allows exactly these).
func SocketArgs() []SocketArg {
	var out []SocketArg
	for _, d := range []int{unix.AF_INET, unix.AF_INET6} {
		out = append(out, SocketArg{d, unix.SOCK_STREAM | hostType, unix.IPPROTO_TCP},
			SocketArg{d, unix.SOCK_DGRAM | hostType, unix.IPPROTO_UDP})
	}
	for _, t := range []int{unix.SOCK_RAW, unix.SOCK_DGRAM} {
		out = append(out, SocketArg{unix.AF_NETLINK, t | hostType, unix.NETLINK_ROUTE})
	}
	return out
}

// protocolOf checks socket(2)'s type and protocol for an IP family and
// returns the explicit protocol the host socket gets.
func protocolOf(domain, typ, protocol int) (int, error) {
	switch typ {
	case linux.SOCK_STREAM:
		if protocol == 0 || protocol == linux.IPPROTO_TCP {
			return linux.IPPROTO_TCP, nil
		}
	case linux.SOCK_DGRAM:
		switch {
		case protocol == 0 || protocol == linux.IPPROTO_UDP:
			return linux.IPPROTO_UDP, nil
		case domain == linux.AF_INET && protocol == linux.IPPROTO_ICMP,
			domain == linux.AF_INET6 && protocol == linux.IPPROTO_ICMPV6:
			return 0, linux.EACCES
		}
	case linux.SOCK_RAW:
		return 0, linux.EPERM
	default:
		return 0, linux.ESOCKTNOSUPPORT
	}
	return 0, linux.EPROTONOSUPPORT
}

// Socket implements net.Family.
func (fam *Family) Socket(_ net.Context, typ, protocol int) (net.Socket, error) {
	proto, err := protocolOf(fam.domain, typ, protocol)
	if err != nil {
		return nil, err
	}
	fd, err := unix.Socket(fam.domain, typ|hostType, proto)
	if err != nil {
		return nil, errnoOf(err)
	}
	return newSocket(fam.p, fd, fam.domain, typ)
}

// Pair implements net.Family: IP has no socketpair.
func (fam *Family) Pair(net.Context, int, int) (net.Socket, net.Socket, error) {
	return nil, nil, linux.EOPNOTSUPP
}

// refused is AF_PACKET: the container may not see raw frames.
type refused struct{}

func (refused) Socket(net.Context, int, int) (net.Socket, error) { return nil, linux.EPERM }

func (refused) Pair(net.Context, int, int) (net.Socket, net.Socket, error) {
	return nil, nil, linux.EOPNOTSUPP
}
