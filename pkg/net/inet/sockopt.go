package inet

import (
	"golang.org/x/sys/unix"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/net"
)

// Opt is one socket option forwarded to the host socket.
type Opt struct {
	Level, Name int
	// Set is whether setsockopt is forwarded too (else only getsockopt).
	Set bool
}

// hostOpts is the allowlist of options forwarded to the host socket.
// Everything else fails with ENOPROTOOPT, except SO_RCVTIMEO and
// SO_SNDTIMEO, which this layer keeps (the host fd never blocks). Left
// out on purpose: options needing privileges the container does not have
// on the host (SO_BINDTODEVICE, SO_MARK, IP_TRANSPARENT, SO_*FORCE),
// TCP_CONGESTION (may load a module), and BPF filters (SO_ATTACH_*).
var hostOpts = []Opt{
	{unix.SOL_SOCKET, unix.SO_REUSEADDR, true}, {unix.SOL_SOCKET, unix.SO_REUSEPORT, true},
	{unix.SOL_SOCKET, unix.SO_KEEPALIVE, true}, {unix.SOL_SOCKET, unix.SO_LINGER, true},
	{unix.SOL_SOCKET, unix.SO_RCVBUF, true}, {unix.SOL_SOCKET, unix.SO_SNDBUF, true},
	{unix.SOL_SOCKET, unix.SO_BROADCAST, true}, {unix.SOL_SOCKET, unix.SO_OOBINLINE, true},
	{unix.SOL_SOCKET, unix.SO_RCVLOWAT, true}, {unix.SOL_SOCKET, unix.SO_PRIORITY, true},
	{unix.SOL_SOCKET, unix.SO_TIMESTAMP, true}, {unix.SOL_SOCKET, unix.SO_DONTROUTE, true},
	{unix.SOL_SOCKET, unix.SO_ERROR, false}, {unix.SOL_SOCKET, unix.SO_TYPE, false},
	{unix.SOL_SOCKET, unix.SO_DOMAIN, false}, {unix.SOL_SOCKET, unix.SO_PROTOCOL, false},
	{unix.SOL_SOCKET, unix.SO_ACCEPTCONN, false},

	{unix.IPPROTO_TCP, unix.TCP_NODELAY, true}, {unix.IPPROTO_TCP, unix.TCP_INFO, false},
	{unix.IPPROTO_TCP, unix.TCP_KEEPIDLE, true}, {unix.IPPROTO_TCP, unix.TCP_KEEPINTVL, true},
	{unix.IPPROTO_TCP, unix.TCP_KEEPCNT, true}, {unix.IPPROTO_TCP, unix.TCP_CORK, true},
	{unix.IPPROTO_TCP, unix.TCP_MAXSEG, true}, {unix.IPPROTO_TCP, unix.TCP_QUICKACK, true},
	{unix.IPPROTO_TCP, unix.TCP_DEFER_ACCEPT, true}, {unix.IPPROTO_TCP, unix.TCP_USER_TIMEOUT, true},
	{unix.IPPROTO_TCP, unix.TCP_FASTOPEN, true}, {unix.IPPROTO_TCP, unix.TCP_CONGESTION, false},

	{unix.IPPROTO_IP, unix.IP_TOS, true}, {unix.IPPROTO_IP, unix.IP_TTL, true},
	{unix.IPPROTO_IP, unix.IP_MULTICAST_IF, true}, {unix.IPPROTO_IP, unix.IP_MULTICAST_TTL, true},
	{unix.IPPROTO_IP, unix.IP_MULTICAST_LOOP, true}, {unix.IPPROTO_IP, unix.IP_ADD_MEMBERSHIP, true},
	{unix.IPPROTO_IP, unix.IP_DROP_MEMBERSHIP, true}, {unix.IPPROTO_IP, unix.IP_MTU_DISCOVER, true},
	{unix.IPPROTO_IP, unix.IP_RECVERR, true}, {unix.IPPROTO_IP, unix.IP_MTU, false},

	{unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, true}, {unix.IPPROTO_IPV6, unix.IPV6_UNICAST_HOPS, true},
	{unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_IF, true}, {unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_HOPS, true},
	{unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_LOOP, true}, {unix.IPPROTO_IPV6, unix.IPV6_JOIN_GROUP, true},
	{unix.IPPROTO_IPV6, unix.IPV6_LEAVE_GROUP, true}, {unix.IPPROTO_IPV6, unix.IPV6_TCLASS, true},
	{unix.IPPROTO_IPV6, unix.IPV6_RECVERR, true}, {unix.IPPROTO_IPV6, unix.IPV6_MTU_DISCOVER, true},

	{unix.SOL_NETLINK, unix.NETLINK_EXT_ACK, true}, {unix.SOL_NETLINK, unix.NETLINK_GET_STRICT_CHK, true},
	{unix.SOL_NETLINK, unix.NETLINK_CAP_ACK, true},
}

// HostOpts returns the options the sandbox forwards to host sockets (the
// seccomp filter allows exactly these).
func HostOpts() []Opt { return append([]Opt(nil), hostOpts...) }

type optKey struct{ level, name int }

// optTable indexes hostOpts: the value is whether set is allowed.
var optTable = func() map[optKey]bool {
	m := map[optKey]bool{}
	for _, o := range hostOpts {
		m[optKey{o.Level, o.Name}] = o.Set
	}
	return m
}()

// maxOptSize bounds a getsockopt buffer (TCP_INFO is the largest here).
const maxOptSize = 512

// GetSockOpt implements net.Socket.
func (s *socket) GetSockOpt(_ net.Context, level, name, size int) ([]byte, error) {
	if level == linux.SOL_SOCKET && (name == linux.SO_RCVTIMEO || name == linux.SO_SNDTIMEO) {
		v, _ := s.opts.Get(name)
		return v, nil
	}
	if _, ok := optTable[optKey{level, name}]; !ok {
		return nil, linux.ENOPROTOOPT
	}
	return hostGetsockopt(s.fd, level, name, min(max(size, 0), maxOptSize))
}

// SetSockOpt implements net.Socket.
func (s *socket) SetSockOpt(_ net.Context, level, name int, val []byte) error {
	if level == linux.SOL_SOCKET && (name == linux.SO_RCVTIMEO || name == linux.SO_SNDTIMEO) {
		_, err := s.opts.Set(name, val)
		return err
	}
	set, ok := optTable[optKey{level, name}]
	if !ok {
		return linux.ENOPROTOOPT
	}
	if !set {
		// Linux: read-only options are not known to setsockopt.
		return linux.ENOPROTOOPT
	}
	if len(val) > maxOptSize {
		return linux.EINVAL
	}
	return hostSetsockopt(s.fd, level, name, val)
}
