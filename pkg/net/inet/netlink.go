package inet

import (
	"encoding/binary"
	"sync"

	"golang.org/x/sys/unix"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/net"
	"bulwark.dev/pkg/vfs"
)

// NetlinkFamily is AF_NETLINK with only NETLINK_ROUTE, proxied to a host
// routing socket in the sandbox's network namespace. Only GET requests
// (RTM_GETLINK, RTM_GETADDR, RTM_GETROUTE, RTM_GETNEIGH, RTM_GETRULE, ...)
// reach the host: the container may read the namespace's configuration
// (`ip addr`, `ip route`, getifaddrs) but never change it, in host mode
// least of all, where the namespace is Docker's or the pod's. Other
// requests are answered with an NLMSG_ERROR of EPERM, as Linux answers an
// unprivileged process; messages to other netlink ports are refused.
type NetlinkFamily struct {
	p *Poller
}

// Socket implements net.Family.
func (fam *NetlinkFamily) Socket(_ net.Context, typ, protocol int) (net.Socket, error) {
	if typ != linux.SOCK_RAW && typ != linux.SOCK_DGRAM {
		return nil, linux.ESOCKTNOSUPPORT
	}
	if protocol != linux.NETLINK_ROUTE {
		return nil, linux.EPROTONOSUPPORT
	}
	fd, err := unix.Socket(unix.AF_NETLINK, typ|hostType, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, errnoOf(err)
	}
	s, err := newSocket(fam.p, fd, linux.AF_NETLINK, typ)
	if err != nil {
		return nil, err
	}
	return &netlinkSocket{socket: s}, nil
}

// Pair implements net.Family.
func (fam *NetlinkFamily) Pair(net.Context, int, int) (net.Socket, net.Socket, error) {
	return nil, nil, linux.EOPNOTSUPP
}

// netlinkSocket is a host routing socket plus the error answers to
// refused requests, which are received before the host's.
type netlinkSocket struct {
	*socket
	mu      sync.Mutex
	answers [][]byte // refusals not yet received, guarded by mu
}

// nlmFCapped is NLM_F_CAPPED: the error carries only the request header.
const nlmFCapped = 0x100

// isGet reports whether an rtnetlink message type is a GET request.
func isGet(typ uint16) bool { return typ >= linux.RTM_BASE && (typ-linux.RTM_BASE)%4 == 2 }

// checkAddr refuses destinations other than the kernel (port 0, no
// multicast groups).
func checkAddr(addr []byte) error {
	if addr == nil {
		return nil
	}
	if len(addr) < unix.SizeofSockaddrNetlink {
		return linux.EINVAL
	}
	if binary.LittleEndian.Uint16(addr) != linux.AF_NETLINK {
		return linux.EINVAL
	}
	if binary.LittleEndian.Uint32(addr[4:]) != 0 || binary.LittleEndian.Uint32(addr[8:]) != 0 {
		return linux.EPERM
	}
	return nil
}

// Connect implements net.Socket: only the kernel may be the peer.
func (n *netlinkSocket) Connect(ctx net.Context, f *vfs.File, addr []byte) error {
	if len(addr) >= 2 && binary.LittleEndian.Uint16(addr) == linux.AF_UNSPEC {
		return n.socket.Connect(ctx, f, addr)
	}
	if err := checkAddr(addr); err != nil {
		return err
	}
	return n.socket.Connect(ctx, f, addr)
}

// SendMsg implements net.Socket: the data is one or more netlink
// messages; if any is not a GET, none is sent and each refused one gets
// an EPERM answer.
func (n *netlinkSocket) SendMsg(ctx net.Context, f *vfs.File, req net.SendRequest) (int, error) {
	req.Control.Release()
	return n.send(ctx, f, req.Data, req.To, req.Flags)
}

// Write implements vfs.FileImpl.
func (n *netlinkSocket) Write(ctx vfs.Context, f *vfs.File, src []byte, _ int64) (int, error) {
	return n.send(ctx, f, src, nil, 0)
}

func (n *netlinkSocket) send(ctx vfs.Context, f *vfs.File, data, to []byte, flags uint32) (int, error) {
	if err := checkAddr(to); err != nil {
		return 0, err
	}
	refusals, err := n.refusals(data)
	if err != nil {
		return 0, err
	}
	if len(refusals) == 0 {
		return n.socket.send(ctx, f, data, to, flags)
	}
	n.mu.Lock()
	n.answers = append(n.answers, refusals...)
	n.mu.Unlock()
	n.w.fire()
	return len(data), nil
}

// refusals walks the messages of data and returns the EPERM answers to
// those that are not GETs (nil when all are). Parsing stops at a header
// that is too short or runs past the buffer, as in Linux.
func (n *netlinkSocket) refusals(data []byte) ([][]byte, error) {
	le := binary.LittleEndian
	var out [][]byte
	for off := 0; off+linux.SizeofNlmsghdr <= len(data); {
		l := int(le.Uint32(data[off:]))
		if l < linux.SizeofNlmsghdr || off+l > len(data) {
			// Like Linux, stop at a header that is too short or runs
			// past the buffer (iproute2 sends padding after its request).
			break
		}
		hdr := data[off : off+linux.SizeofNlmsghdr]
		if typ := le.Uint16(hdr[4:]); !isGet(typ) {
			out = append(out, n.errorAnswer(hdr, linux.EPERM))
		}
		off += (l + 3) &^ 3
	}
	return out, nil
}

// errorAnswer builds the NLMSG_ERROR answer to request header hdr.
func (n *netlinkSocket) errorAnswer(hdr []byte, e linux.Errno) []byte {
	le := binary.LittleEndian
	const size = linux.SizeofNlmsghdr + 4 + linux.SizeofNlmsghdr
	b := make([]byte, size)
	le.PutUint32(b, size)
	le.PutUint16(b[4:], linux.NLMSG_ERROR)
	le.PutUint16(b[6:], nlmFCapped)
	copy(b[8:12], hdr[8:12]) // the request's sequence number
	if sa, err := n.GetSockName(nil); err == nil && len(sa) >= 8 {
		copy(b[12:16], sa[4:8]) // our port id
	}
	le.PutUint32(b[16:], uint32(-int32(e)))
	copy(b[20:], hdr)
	return b
}

// kernelAddr is the sockaddr_nl of the kernel, the sender of answers.
func kernelAddr() []byte {
	sa := make([]byte, unix.SizeofSockaddrNetlink)
	binary.LittleEndian.PutUint16(sa, linux.AF_NETLINK)
	return sa
}

// RecvMsg implements net.Socket: pending refusals first.
func (n *netlinkSocket) RecvMsg(ctx net.Context, f *vfs.File, dst []byte, flags uint32) (net.RecvResult, error) {
	if res, ok := n.answer(dst, flags); ok {
		return res, nil
	}
	return n.socket.recv(ctx, f, dst, flags)
}

// Read implements vfs.FileImpl.
func (n *netlinkSocket) Read(ctx vfs.Context, f *vfs.File, dst []byte, _ int64) (int, error) {
	if res, ok := n.answer(dst, 0); ok {
		return res.N, nil
	}
	res, err := n.socket.recv(ctx, f, dst, 0)
	return res.N, err
}

// answer receives the first pending refusal, if any.
func (n *netlinkSocket) answer(dst []byte, flags uint32) (net.RecvResult, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.answers) == 0 {
		return net.RecvResult{}, false
	}
	a := n.answers[0]
	if flags&linux.MSG_PEEK == 0 {
		n.answers = n.answers[1:]
	}
	c := copy(dst, a)
	res := net.RecvResult{N: c, Len: c, From: kernelAddr()}
	if c < len(a) {
		res.Flags |= linux.MSG_TRUNC
		if flags&linux.MSG_TRUNC != 0 {
			res.Len = len(a)
		}
	}
	return res, true
}

// Readiness implements vfs.Waiter: pending refusals are readable.
func (n *netlinkSocket) Readiness(mask uint32) uint32 {
	r := n.socket.Readiness(mask)
	n.mu.Lock()
	if len(n.answers) > 0 {
		r |= (linux.POLLIN | linux.POLLRDNORM) & mask
	}
	n.mu.Unlock()
	return r
}
