package linux

// Address families.
const (
	AF_UNSPEC  = 0
	AF_UNIX    = 1
	AF_INET    = 2
	AF_INET6   = 10
	AF_NETLINK = 16
	AF_PACKET  = 17
)

// Socket types, and the flags socket(2) accepts with them.
const (
	SOCK_STREAM    = 1
	SOCK_DGRAM     = 2
	SOCK_RAW       = 3
	SOCK_RDM       = 4
	SOCK_SEQPACKET = 5
	SOCK_TYPE_MASK = 0xf
	SOCK_NONBLOCK  = O_NONBLOCK
	SOCK_CLOEXEC   = O_CLOEXEC
)

// shutdown(2) modes.
const (
	SHUT_RD   = 0
	SHUT_WR   = 1
	SHUT_RDWR = 2
)

// Flags of send(2)/recv(2) and msghdr.msg_flags.
const (
	MSG_OOB          = 0x1
	MSG_PEEK         = 0x2
	MSG_DONTROUTE    = 0x4
	MSG_CTRUNC       = 0x8
	MSG_TRUNC        = 0x20
	MSG_DONTWAIT     = 0x40
	MSG_EOR          = 0x80
	MSG_WAITALL      = 0x100
	MSG_NOSIGNAL     = 0x4000
	MSG_MORE         = 0x8000
	MSG_WAITFORONE   = 0x10000
	MSG_CMSG_CLOEXEC = 0x40000000
)

// Socket option levels.
const (
	SOL_SOCKET = 1
)

// SOL_SOCKET options.
const (
	SO_DEBUG       = 1
	SO_REUSEADDR   = 2
	SO_TYPE        = 3
	SO_ERROR       = 4
	SO_DONTROUTE   = 5
	SO_BROADCAST   = 6
	SO_SNDBUF      = 7
	SO_RCVBUF      = 8
	SO_KEEPALIVE   = 9
	SO_OOBINLINE   = 10
	SO_LINGER      = 13
	SO_REUSEPORT   = 15
	SO_PASSCRED    = 16
	SO_PEERCRED    = 17
	SO_RCVLOWAT    = 18
	SO_SNDLOWAT    = 19
	SO_RCVTIMEO    = 20
	SO_SNDTIMEO    = 21
	SO_ACCEPTCONN  = 30
	SO_PEERSEC     = 31
	SO_SNDBUFFORCE = 32
	SO_RCVBUFFORCE = 33
	SO_PASSSEC     = 34
	SO_PROTOCOL    = 38
	SO_DOMAIN      = 39
)

// Control message types at SOL_SOCKET.
const (
	SCM_RIGHTS      = 1
	SCM_CREDENTIALS = 2
)

// SOMAXCONN is the largest listen(2) backlog (net.core.somaxconn).
const SOMAXCONN = 4096

// UNIX_PATH_MAX is the size of sockaddr_un.sun_path.
const UNIX_PATH_MAX = 108

// SizeofSockaddrUnix is sizeof(struct sockaddr_un).
const SizeofSockaddrUnix = 2 + UNIX_PATH_MAX

// SizeofUcred is sizeof(struct ucred): pid, uid, gid.
const SizeofUcred = 12

// SizeofCmsghdr is sizeof(struct cmsghdr) on 64-bit: len (8), level, type.
const SizeofCmsghdr = 16

// SizeofMsghdr is sizeof(struct msghdr) on 64-bit.
const SizeofMsghdr = 56

// SizeofMmsghdr is sizeof(struct mmsghdr) on 64-bit (msghdr + len + pad).
const SizeofMmsghdr = 64

// CmsgAlign rounds n up to the control-message alignment (8 on 64-bit).
func CmsgAlign(n int) int { return (n + 7) &^ 7 }

// CmsgSpace is CMSG_SPACE(n).
func CmsgSpace(n int) int { return SizeofCmsghdr + CmsgAlign(n) }

// CmsgLen is CMSG_LEN(n).
func CmsgLen(n int) int { return SizeofCmsghdr + n }

// Ucred is struct ucred (SO_PEERCRED, SCM_CREDENTIALS).
type Ucred struct {
	PID int32
	UID uint32
	GID uint32
}

// SCM_MAX_FD is the most fds one SCM_RIGHTS message may carry.
const SCM_MAX_FD = 253
