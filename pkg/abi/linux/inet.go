package linux

// IP protocols (the protocol argument of socket(2) and the option levels
// of setsockopt(2)).
const (
	IPPROTO_IP     = 0
	IPPROTO_ICMP   = 1
	IPPROTO_TCP    = 6
	IPPROTO_UDP    = 17
	IPPROTO_IPV6   = 41
	IPPROTO_ICMPV6 = 58
	IPPROTO_RAW    = 255
)

// Netlink: the option level and the routing protocol.
const (
	SOL_NETLINK   = 270
	NETLINK_ROUTE = 0
)

// Netlink message header types below the rtnetlink range.
const (
	NLMSG_NOOP  = 1
	NLMSG_ERROR = 2
	NLMSG_DONE  = 3
	// RTM_BASE is the first rtnetlink message type; each object has four
	// types from there: NEW, DEL, GET, SET.
	RTM_BASE = 16
)

// SizeofNlmsghdr is sizeof(struct nlmsghdr).
const SizeofNlmsghdr = 16

// Socket ioctls (the SIOCGIF* requests read interface configuration).
const (
	SIOCATMARK     = 0x8905
	SIOCGIFNAME    = 0x8910
	SIOCGIFCONF    = 0x8912
	SIOCGIFFLAGS   = 0x8913
	SIOCGIFADDR    = 0x8915
	SIOCGIFBRDADDR = 0x8919
	SIOCGIFNETMASK = 0x891b
	SIOCGIFMTU     = 0x8921
	SIOCGIFHWADDR  = 0x8927
	SIOCGIFINDEX   = 0x8933
	SIOCOUTQ       = 0x5411
	// SizeofIfreq is sizeof(struct ifreq).
	SizeofIfreq = 40
	// SizeofIfconf is sizeof(struct ifconf) on 64-bit: len, pad, pointer.
	SizeofIfconf = 16
)
