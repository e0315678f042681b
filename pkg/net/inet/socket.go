package inet

import (
	"time"

	"golang.org/x/sys/unix"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/net"
	"bulwark.dev/pkg/vfs"
)

// socket is one application socket backed by a host socket that the
// sandbox kernel created and alone holds (invariant 1): it is the
// vfs.FileImpl (net.Socket) of the application's file, and the host fd is
// never installed in an application's fd table. The host fd is always
// non-blocking; blocking calls wait on the Poller, interruptibly.
type socket struct {
	fd     int
	family int
	typ    int
	p      *Poller
	w      *watch
	// opts keeps SO_RCVTIMEO and SO_SNDTIMEO, which only this layer uses
	// (the host fd never blocks).
	opts *net.Options
}

// newSocket wraps host fd (non-blocking, close-on-exec), taking it over.
func newSocket(p *Poller, fd, family, typ int) (*socket, error) {
	w, err := p.add(fd)
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	return &socket{fd: fd, family: family, typ: typ, p: p, w: w, opts: net.NewOptions()}, nil
}

// stream reports whether the socket is a byte stream.
func (s *socket) stream() bool { return s.typ == linux.SOCK_STREAM }

// Release implements vfs.FileImpl.
func (s *socket) Release() {
	s.p.remove(s.fd, s.w)
	unix.Close(s.fd)
}

// IsStream implements vfs.StreamImpl: no position, no position lock.
func (s *socket) IsStream() bool { return true }

// Read implements vfs.FileImpl as recv(2) with no flags.
func (s *socket) Read(ctx vfs.Context, f *vfs.File, dst []byte, _ int64) (int, error) {
	res, err := s.recv(ctx, f, dst, 0)
	return res.N, err
}

// Write implements vfs.FileImpl as send(2) with no flags.
func (s *socket) Write(ctx vfs.Context, f *vfs.File, src []byte, _ int64) (int, error) {
	return s.send(ctx, f, src, nil, 0)
}

// Readiness implements vfs.Waiter with the host's view of the socket.
func (s *socket) Readiness(mask uint32) uint32 {
	ev := unix.POLLIN | unix.POLLOUT | unix.POLLPRI | unix.POLLRDHUP | linux.POLLRDNORM | linux.POLLWRNORM
	return uint32(uint16(pollNow(s.fd, int16(ev)))) & mask
}

// Notify implements vfs.Waiter.
func (s *socket) Notify() <-chan struct{} { return s.w.notify() }

// wait blocks until the socket changes, a signal or deadline (see
// net.Block), after a call that took ch failed with EAGAIN.
func (s *socket) wait(ctx vfs.Context, ch <-chan struct{}, deadline time.Time) error {
	return net.Block(ctx, ch, deadline)
}

// Bind implements net.Socket.
func (s *socket) Bind(_ net.Context, addr []byte) error {
	return addrCall(unix.SYS_BIND, s.fd, addr)
}

// Listen implements net.Socket.
func (s *socket) Listen(_ net.Context, backlog int) error {
	_, err := retry(func() (uintptr, unix.Errno) {
		_, _, e := unix.RawSyscall(unix.SYS_LISTEN, uintptr(s.fd), uintptr(backlog), 0)
		return 0, e
	})
	return err
}

// Accept implements net.Socket.
func (s *socket) Accept(ctx net.Context, f *vfs.File, flags uint32) (*vfs.File, error) {
	var deadline time.Time
	for {
		ch := s.w.notify()
		nfd, err := hostAccept(s.fd)
		if err == nil {
			ns, err := newSocket(s.p, nfd, s.family, s.typ)
			if err != nil {
				return nil, err
			}
			return net.NewFile(ctx, ns, flags&linux.O_NONBLOCK), nil
		}
		if err != linux.EAGAIN || net.NonBlocking(f, 0) {
			return nil, err
		}
		if deadline.IsZero() {
			deadline = s.opts.Deadline(linux.SO_RCVTIMEO)
		}
		if err := s.wait(ctx, ch, deadline); err != nil {
			return nil, err
		}
	}
}

// Connect implements net.Socket. A blocking connect is the host's
// non-blocking one, then a wait for the handshake, then connect again,
// which reports the outcome and settles the host socket's state exactly
// as Linux's blocking connect (a restarted call resumes the wait).
func (s *socket) Connect(ctx net.Context, f *vfs.File, addr []byte) error {
	var deadline time.Time
	for {
		ch := s.w.notify()
		err := addrCall(unix.SYS_CONNECT, s.fd, addr)
		if (err != linux.EINPROGRESS && err != linux.EALREADY) || net.NonBlocking(f, 0) {
			return err
		}
		if deadline.IsZero() {
			deadline = s.opts.Deadline(linux.SO_SNDTIMEO)
		}
		if pollNow(s.fd, unix.POLLOUT) != 0 {
			continue
		}
		switch err := s.wait(ctx, ch, deadline); err {
		case nil:
		case linux.EAGAIN:
			return linux.EINPROGRESS // SO_SNDTIMEO ran out, as in Linux
		default:
			return err
		}
	}
}

// Shutdown implements net.Socket.
func (s *socket) Shutdown(_ net.Context, how int) error {
	_, err := retry(func() (uintptr, unix.Errno) {
		_, _, e := unix.RawSyscall(unix.SYS_SHUTDOWN, uintptr(s.fd), uintptr(how), 0)
		return 0, e
	})
	s.w.fire()
	return err
}

// GetSockName implements net.Socket.
func (s *socket) GetSockName(net.Context) ([]byte, error) {
	return nameCall(unix.SYS_GETSOCKNAME, s.fd)
}

// GetPeerName implements net.Socket.
func (s *socket) GetPeerName(net.Context) ([]byte, error) {
	return nameCall(unix.SYS_GETPEERNAME, s.fd)
}
