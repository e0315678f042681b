// Package net is the sandbox kernel's socket layer: the Socket interface
// every address family implements, the socket file (an S_IFSOCK inode
// wrapped in a vfs.File), and a Stack that maps address families to their
// implementations.
//
// Families register with a Stack (unix.Register for AF_UNIX; AF_INET,
// AF_INET6 and AF_NETLINK later, backed by host sockets or an in-sandbox
// netstack). The syscall layer (pkg/syscalls/sys_socket.go) only speaks
// Socket: it copies addresses, data and control messages between the task
// and these plain Go values, installs received fds and sends SIGPIPE.
package net

import (
	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/vfs"
)

// Context is what socket operations need from the calling task;
// *kernel.Task implements it.
type Context interface {
	vfs.Context
	// PID is the caller's thread-group ID (SO_PEERCRED, SCM_CREDENTIALS).
	PID() int32
	// FSContext is the caller's root, cwd and umask, for path-bound
	// addresses.
	FSContext() *vfs.FSContext
}

// ControlMessages are the ancillary data of one message, decoded.
type ControlMessages struct {
	// Rights are the files of SCM_RIGHTS; the holder owns one reference
	// on each.
	Rights []*vfs.File
	// Creds are SCM_CREDENTIALS, nil when absent.
	Creds *linux.Ucred
}

// Release drops the references on Rights.
func (c *ControlMessages) Release() {
	for _, f := range c.Rights {
		f.DecRef()
	}
	c.Rights = nil
}

// SendRequest is one sendmsg(2).
type SendRequest struct {
	Data []byte
	// To is the destination sockaddr, nil for a connected send.
	To []byte
	// Control is sent with the data; the socket takes over its references
	// whether or not the send succeeds.
	Control ControlMessages
	// Flags are MSG_* flags.
	Flags uint32
}

// RecvResult is the outcome of one recvmsg(2).
type RecvResult struct {
	// N is the number of bytes written to the buffer.
	N int
	// Len is what recvmsg returns with MSG_TRUNC on a datagram socket: the
	// full length of the message. Otherwise it equals N.
	Len int
	// From is the sender's sockaddr (datagram sockets), nil when unknown.
	From []byte
	// Control are the received control messages; the caller owns the
	// references of Rights.
	Control ControlMessages
	// Flags are the msg_flags to report (MSG_TRUNC, MSG_EOR, ...).
	Flags uint32
}

// Socket is the vfs.FileImpl of a socket. Methods that may block take the
// File to read its O_NONBLOCK flag. Errors are linux.Errno values; EPIPE is
// returned as is (the syscall layer sends SIGPIPE unless MSG_NOSIGNAL).
type Socket interface {
	vfs.FileImpl
	vfs.Waiter

	// Bind assigns the local address (a raw sockaddr of the family).
	Bind(ctx Context, addr []byte) error
	// Listen marks a connection-oriented socket as accepting connections.
	Listen(ctx Context, backlog int) error
	// Accept waits for a connection and returns it as a new File (one
	// reference) with the status flags in flags (O_NONBLOCK).
	Accept(ctx Context, f *vfs.File, flags uint32) (*vfs.File, error)
	// Connect connects to addr (AF_UNSPEC disconnects datagram sockets).
	Connect(ctx Context, f *vfs.File, addr []byte) error
	// Shutdown shuts down reading, writing or both (linux.SHUT_*).
	Shutdown(ctx Context, how int) error
	// SendMsg sends req and returns the number of bytes sent.
	SendMsg(ctx Context, f *vfs.File, req SendRequest) (int, error)
	// RecvMsg receives into dst with MSG_* flags.
	RecvMsg(ctx Context, f *vfs.File, dst []byte, flags uint32) (RecvResult, error)
	// GetSockOpt returns option name at level; size is the caller's
	// buffer size (the result may be longer: the caller truncates).
	GetSockOpt(ctx Context, level, name, size int) ([]byte, error)
	// SetSockOpt sets option name at level to val.
	SetSockOpt(ctx Context, level, name int, val []byte) error
	// GetSockName returns the local address.
	GetSockName(ctx Context) ([]byte, error)
	// GetPeerName returns the peer's address (linux.ENOTCONN if none).
	GetPeerName(ctx Context) ([]byte, error)
}

// Family creates the sockets of one address family.
type Family interface {
	// Socket creates a socket of type typ (SOCK_* without flags) and
	// protocol (0: the default). Unknown types fail with
	// linux.ESOCKTNOSUPPORT or linux.EPROTONOSUPPORT as Linux does.
	Socket(ctx Context, typ, protocol int) (Socket, error)
	// Pair creates two connected sockets (socketpair); families that have
	// none return linux.EOPNOTSUPP.
	Pair(ctx Context, typ, protocol int) (Socket, Socket, error)
}
