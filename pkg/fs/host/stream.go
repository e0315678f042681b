package host

import (
	"unsafe"

	"golang.org/x/sys/unix"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/vfs"
)

// pipeBuf is the most bytes a write to a pipe that poll(2) reported
// writable is sure to take without blocking (PIPE_BUF).
const pipeBuf = 4096

// xfer is how one kind of stream fd moves data.
type xfer struct {
	read, write func(fd int, p []byte) (int, error)
	// pollFirst is set when the description is blocking and shared with
	// others: a transfer only starts once poll(2) says the fd is ready,
	// so it does not block outside an interruptible wait.
	pollFirst bool
	// maxWrite bounds one write (0: no bound).
	maxWrite int
}

// The kinds of stream fds.
var (
	// nonblockXfer: a FIFO or tty whose description has O_NONBLOCK (our
	// own, from Reopen).
	nonblockXfer = &xfer{read: unix.Read, write: unix.Write}
	// blockingXfer: a FIFO or tty sharing a blocking description that
	// could not be reopened. Another reader of the same description may
	// still empty the fd between poll and read; the read then blocks
	// until data comes.
	blockingXfer = &xfer{read: unix.Read, write: unix.Write, pollFirst: true, maxWrite: pipeBuf}
	// socketXfer: a socket, which cannot be reopened; MSG_DONTWAIT makes
	// each transfer non-blocking without touching the shared description.
	socketXfer = &xfer{read: recvDontwait, write: sendDontwait}
)

func recvDontwait(fd int, p []byte) (int, error) {
	var ptr unsafe.Pointer
	if len(p) > 0 {
		ptr = unsafe.Pointer(&p[0])
	}
	n, _, e := unix.Syscall6(unix.SYS_RECVFROM, uintptr(fd), uintptr(ptr), uintptr(len(p)), unix.MSG_DONTWAIT, 0, 0)
	if e != 0 {
		return -1, e
	}
	return int(n), nil
}

// sendDontwait sends without raising a host SIGPIPE; the syscall layer
// turns EPIPE into the application's SIGPIPE.
func sendDontwait(fd int, p []byte) (int, error) {
	return unix.SendmsgN(fd, p, nil, nil, unix.MSG_DONTWAIT|unix.MSG_NOSIGNAL)
}

// streamFile is a host pipe, socket or tty (or another character device):
// no position of its own, waits interruptible by signals.
type streamFile struct {
	*hostFD
	xfer *xfer
	tty  bool   // forward terminal ioctls
	rdev uint64 // the host device number: a tty's terminal id
}

// IsStream implements vfs.StreamImpl: pipes, sockets and ttys have no
// position, so the VFS keeps none and takes no position lock while a read
// blocks.
func (s *streamFile) IsStream() bool { return true }

// Read implements vfs.FileImpl. A read of a terminal by a process of a
// background group first gets the sandbox kernel's job-control check.
func (s *streamFile) Read(ctx vfs.Context, f *vfs.File, dst []byte, _ int64) (int, error) {
	if err := s.checkTTYRead(ctx); err != nil {
		return 0, err
	}
	return s.transfer(ctx, f, unix.POLLIN, func() (int, error) { return s.xfer.read(s.fd, dst) })
}

// Write implements vfs.FileImpl: it writes everything unless interrupted
// or, for a non-blocking application file, the fd fills up.
func (s *streamFile) Write(ctx vfs.Context, f *vfs.File, src []byte, _ int64) (int, error) {
	done := 0
	for done < len(src) {
		b := src[done:]
		if s.xfer.maxWrite > 0 && len(b) > s.xfer.maxWrite {
			b = b[:s.xfer.maxWrite]
		}
		n, err := s.transfer(ctx, f, unix.POLLOUT, func() (int, error) { return s.xfer.write(s.fd, b) })
		done += n
		if err != nil {
			if done > 0 {
				return done, nil
			}
			return 0, err
		}
	}
	return done, nil
}

// transfer runs op (one read or write of the fd) once the fd is ready for
// events, waiting in between unless the application's file is
// non-blocking (linux.EAGAIN then).
func (s *streamFile) transfer(ctx vfs.Context, f *vfs.File, events int16, op func() (int, error)) (int, error) {
	for {
		if !s.xfer.pollFirst || ready(s.fd, events) {
			n, err := retryEINTR(op)
			if err == nil {
				return n, nil
			}
			if err != unix.EAGAIN {
				return 0, toErrno(err)
			}
		}
		if f.StatusFlags()&linux.O_NONBLOCK != 0 {
			return 0, linux.EAGAIN
		}
		if err := await(ctx, s.fd, events); err != nil {
			return 0, err
		}
	}
}

// ready reports whether fd is ready for events now (or has an error or a
// hangup, which the transfer will report).
func ready(fd int, events int16) bool {
	fds := []unix.PollFd{{Fd: int32(fd), Events: events}}
	n, err := retryEINTR(func() (int, error) { return unix.Poll(fds, 0) })
	return err != nil || n > 0
}

// await blocks until fd is ready for events (or has an error or a
// hangup) or the task is interrupted, which it reports with the error of
// ctx.Block (linux.ERESTARTSYS). The poll(2) runs in a goroutine on fd and
// a fresh eventfd; an interruption writes the eventfd to end it.
func await(ctx vfs.Context, fd int, events int16) error {
	wake, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return toErrno(err)
	}
	defer unix.Close(wake)
	done := make(chan struct{})
	var perr error
	go func() {
		defer close(done)
		fds := []unix.PollFd{{Fd: int32(fd), Events: events}, {Fd: int32(wake), Events: unix.POLLIN}}
		_, perr = retryEINTR(func() (int, error) { return unix.Poll(fds, -1) })
		if perr == nil && fds[0].Revents&unix.POLLNVAL != 0 {
			perr = unix.EBADF
		}
	}()
	if err := ctx.Block(done); err != nil {
		one := [8]byte{1}
		unix.Write(wake, one[:])
		<-done
		return err
	}
	return toErrno(perr)
}
