package inet

import (
	"time"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/net"
	"bulwark.dev/pkg/vfs"
)

// Flags passed on to the host; MSG_DONTWAIT and MSG_NOSIGNAL are always
// added there (waiting and SIGPIPE are this kernel's business).
const (
	sendFlags = linux.MSG_OOB | linux.MSG_DONTROUTE | linux.MSG_EOR | linux.MSG_MORE
	recvFlags = linux.MSG_OOB | linux.MSG_PEEK | linux.MSG_TRUNC
)

// SendMsg implements net.Socket. Control messages are dropped, as Linux's
// TCP does (no SCM_RIGHTS over IP).
func (s *socket) SendMsg(ctx net.Context, f *vfs.File, req net.SendRequest) (int, error) {
	req.Control.Release()
	return s.send(ctx, f, req.Data, req.To, req.Flags)
}

// send sends data (to addr, unless nil). A blocking stream send waits
// until everything went (or a signal or SO_SNDTIMEO ends it with what
// went so far); a datagram is one host send.
func (s *socket) send(ctx vfs.Context, f *vfs.File, data, addr []byte, flags uint32) (int, error) {
	var deadline time.Time
	done := 0
	for {
		ch := s.w.notify()
		n, err := hostSend(s.fd, data[done:], addr, int(flags&sendFlags))
		if err == nil {
			done += n
			if done == len(data) || !s.stream() {
				return done, nil
			}
		} else if err != linux.EAGAIN {
			return partial(done, err)
		}
		if net.NonBlocking(f, flags) {
			return partial(done, linux.EAGAIN)
		}
		if deadline.IsZero() {
			deadline = s.opts.Deadline(linux.SO_SNDTIMEO)
		}
		if err := s.wait(ctx, ch, deadline); err != nil {
			return partial(done, err)
		}
	}
}

// partial returns done bytes when some moved, else err.
func partial(done int, err error) (int, error) {
	if done > 0 {
		return done, nil
	}
	return 0, err
}

// RecvMsg implements net.Socket.
func (s *socket) RecvMsg(ctx net.Context, f *vfs.File, dst []byte, flags uint32) (net.RecvResult, error) {
	return s.recv(ctx, f, dst, flags)
}

// recv receives into dst. MSG_WAITALL on a blocking stream socket
// gathers until dst is full, end of stream, an error or a signal.
func (s *socket) recv(ctx vfs.Context, f *vfs.File, dst []byte, flags uint32) (net.RecvResult, error) {
	var deadline time.Time
	waitAll := flags&linux.MSG_WAITALL != 0 && flags&linux.MSG_PEEK == 0 && s.stream()
	got := 0
	for {
		ch := s.w.notify()
		r, err := hostRecv(s.fd, dst[got:], int(flags&recvFlags))
		if err == nil {
			if !waitAll || r.n == 0 || got+r.n == len(dst) {
				got += min(r.n, len(dst)-got)
				return net.RecvResult{N: got, Len: max(got, r.n), From: r.from, Flags: r.flags}, nil
			}
			got += r.n
			continue
		}
		if err != linux.EAGAIN {
			return recvPartial(got, err)
		}
		if net.NonBlocking(f, flags) {
			return recvPartial(got, linux.EAGAIN)
		}
		if deadline.IsZero() {
			deadline = s.opts.Deadline(linux.SO_RCVTIMEO)
		}
		if err := s.wait(ctx, ch, deadline); err != nil {
			return recvPartial(got, err)
		}
	}
}

func recvPartial(got int, err error) (net.RecvResult, error) {
	if got > 0 {
		return net.RecvResult{N: got, Len: got}, nil
	}
	return net.RecvResult{}, err
}
