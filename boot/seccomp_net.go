package boot

import (
	"golang.org/x/sys/unix"

	"bulwark.dev/pkg/net/inet"
	"bulwark.dev/pkg/seccomp"
)

// netRules are the host socket calls pkg/net/inet makes on behalf of the
// application's AF_INET, AF_INET6 and AF_NETLINK sockets, in both network
// modes: socket(2) with exactly the (domain, type, protocol) triples it
// uses (never AF_PACKET, SOCK_RAW IP or another netlink protocol), the
// calls on fds it holds, the socket options of its allowlist and the
// read-only interface ioctls. The sandbox keeps these calls after
// confine: they open no path (invariant 2), and every argument is chosen
// by pkg/net/inet, never passed through from the application.
func netRules() seccomp.Rules {
	r := seccomp.Rules{}
	for _, a := range inet.SocketArgs() {
		r.Add(unix.SYS_SOCKET, seccomp.Rule{
			seccomp.ArgEq(0, uint64(a.Domain)), seccomp.ArgEq(1, uint64(a.Type)), seccomp.ArgEq(2, uint64(a.Protocol)),
		})
	}
	for _, nr := range []uintptr{
		unix.SYS_BIND, unix.SYS_CONNECT, unix.SYS_LISTEN, unix.SYS_ACCEPT4, unix.SYS_SHUTDOWN,
		unix.SYS_SENDTO, unix.SYS_RECVFROM, unix.SYS_SENDMSG, unix.SYS_RECVMSG,
		unix.SYS_GETSOCKNAME, unix.SYS_GETPEERNAME,
	} {
		r.Add(nr)
	}
	for _, o := range inet.HostOpts() {
		opt := seccomp.Rule{seccomp.ArgEq(1, uint64(o.Level)), seccomp.ArgEq(2, uint64(o.Name))}
		r.Add(unix.SYS_GETSOCKOPT, opt)
		if o.Set {
			r.Add(unix.SYS_SETSOCKOPT, opt)
		}
	}
	for _, cmd := range inet.IoctlRequests() {
		r.Add(unix.SYS_IOCTL, seccomp.Rule{seccomp.ArgMaskedEq(1, 0xffffffff, uint64(cmd))})
	}
	return r
}
