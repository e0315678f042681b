package host

import (
	"unsafe"

	"golang.org/x/sys/unix"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/vfs"
)

// ttyIoctlSizes are the terminal ioctls forwarded to a host tty, with the
// size of their argument and whether it is copied in (set) or out (get).
// The job-control ones (TIOCSCTTY, TIOCGPGRP, TIOCSPGRP, TIOCGSID,
// TIOCNOTTY) are the sandbox kernel's: its sessions and process groups are
// not the host's (pkg/syscalls answers them using Terminal).
var ttyIoctlSizes = map[uint32]struct {
	size int
	in   bool
}{
	linux.TCGETS:     {linux.SizeofTermios, false},
	linux.TCSETS:     {linux.SizeofTermios, true},
	linux.TCSETSW:    {linux.SizeofTermios, true},
	linux.TCSETSF:    {linux.SizeofTermios, true},
	linux.TIOCGWINSZ: {linux.SizeofWinsize, false},
	linux.TIOCSWINSZ: {linux.SizeofWinsize, true},
}

// Ioctl implements vfs.Ioctler: FIONREAD (TIOCINQ on the host, which
// pipes, sockets and ttys answer), and the terminal ioctls above for a tty
// (ENOTTY otherwise). A tty reopened by Reopen is the same tty, so its
// settings are the caller's.
func (s *streamFile) Ioctl(ctx vfs.Context, _ *vfs.File, cmd uint32, arg uintptr) (uintptr, error) {
	if cmd == linux.FIONREAD {
		n, err := unix.IoctlGetInt(s.fd, unix.TIOCINQ)
		if err != nil {
			return 0, toErrno(err)
		}
		b := []byte{byte(n), byte(n >> 8), byte(n >> 16), byte(n >> 24)}
		_, err = ctx.CopyOut(arg, b)
		return 0, err
	}
	spec, ok := ttyIoctlSizes[cmd]
	if !ok || !s.tty {
		return 0, linux.ENOTTY
	}
	buf := make([]byte, spec.size)
	if spec.in {
		if _, err := ctx.CopyIn(arg, buf); err != nil {
			return 0, err
		}
	}
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(s.fd), uintptr(cmd), uintptr(unsafe.Pointer(&buf[0]))); e != 0 {
		return 0, linux.Errno(e)
	}
	if !spec.in {
		if _, err := ctx.CopyOut(arg, buf); err != nil {
			return 0, err
		}
	}
	return 0, nil
}

// Readiness implements vfs.Waiter with a zero-timeout host poll.
func (s *streamFile) Readiness(mask uint32) uint32 {
	fds := []unix.PollFd{{Fd: int32(s.fd), Events: int16(mask & 0xffff)}}
	if n, err := unix.Poll(fds, 0); err != nil || n == 0 {
		return 0
	}
	return uint32(uint16(fds[0].Revents))
}

// Notify implements vfs.Waiter: host fds have no change notification, so
// the channel closes after a short delay and pollers re-check.
func (s *streamFile) Notify() <-chan struct{} {
	ch := make(chan struct{})
	go func() {
		unix.Poll([]unix.PollFd{{Fd: int32(s.fd), Events: unix.POLLIN}}, 50)
		close(ch)
	}()
	return ch
}
