package inet

import (
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"

	"bulwark.dev/pkg/abi/linux"
)

// The host calls made on behalf of the application. Each takes our own
// host fd and buffers in the sandbox kernel's memory: the application's
// arguments are validated and copied by the syscall layer first, and the
// host fd never leaves this package.

// maxAddr is sizeof(struct sockaddr_storage).
const maxAddr = 128

// errnoOf turns a host error into the sandbox's errno.
func errnoOf(err error) error {
	if err == nil {
		return nil
	}
	if e, ok := err.(unix.Errno); ok {
		return linux.Errno(e)
	}
	return linux.EIO
}

func bufPtr(b []byte) unsafe.Pointer {
	if len(b) == 0 {
		return nil
	}
	return unsafe.Pointer(&b[0])
}

// retry runs a host call again while it fails with EINTR (the sandbox's
// own signals, such as the Go runtime's preemption).
func retry(call func() (uintptr, unix.Errno)) (uintptr, error) {
	for {
		r, e := call()
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return r, linux.Errno(e)
		}
		return r, nil
	}
}

// addrCall runs bind or connect on fd with the raw sockaddr addr.
func addrCall(nr uintptr, fd int, addr []byte) error {
	if len(addr) > maxAddr {
		return linux.EINVAL
	}
	var sa [maxAddr]byte
	copy(sa[:], addr)
	_, err := retry(func() (uintptr, unix.Errno) {
		_, _, e := unix.Syscall(nr, uintptr(fd), uintptr(unsafe.Pointer(&sa[0])), uintptr(len(addr)))
		return 0, e
	})
	return err
}

// nameCall runs getsockname or getpeername on fd.
func nameCall(nr uintptr, fd int) ([]byte, error) {
	var sa [maxAddr]byte
	n := uint32(maxAddr)
	_, err := retry(func() (uintptr, unix.Errno) {
		_, _, e := unix.RawSyscall(nr, uintptr(fd), uintptr(unsafe.Pointer(&sa[0])), uintptr(unsafe.Pointer(&n)))
		return 0, e
	})
	if err != nil {
		return nil, err
	}
	return append([]byte(nil), sa[:min(n, maxAddr)]...), nil
}

// hostAccept accepts a connection on fd as a non-blocking, close-on-exec
// host fd.
func hostAccept(fd int) (int, error) {
	r, err := retry(func() (uintptr, unix.Errno) {
		r, _, e := unix.Syscall6(unix.SYS_ACCEPT4, uintptr(fd), 0, 0, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0, 0)
		return r, e
	})
	return int(r), err
}

// hostSend sends p (to addr when not nil) without blocking and without a
// host SIGPIPE.
func hostSend(fd int, p, addr []byte, flags int) (int, error) {
	var sa [maxAddr]byte
	copy(sa[:], addr)
	var sap unsafe.Pointer
	if addr != nil {
		sap = unsafe.Pointer(&sa[0])
	}
	flags |= unix.MSG_DONTWAIT | unix.MSG_NOSIGNAL
	r, err := retry(func() (uintptr, unix.Errno) {
		r, _, e := unix.Syscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(bufPtr(p)), uintptr(len(p)),
			uintptr(flags), uintptr(sap), uintptr(len(addr)))
		return r, e
	})
	return int(r), err
}

// received is the outcome of one host recvmsg.
type received struct {
	n     int    // the return value (the full length with MSG_TRUNC)
	flags uint32 // msg_flags
	from  []byte // the sender's address, nil when none
}

// hostRecv receives into p without blocking.
func hostRecv(fd int, p []byte, flags int) (received, error) {
	var sa [maxAddr]byte
	var iov unix.Iovec
	iov.Base = (*byte)(bufPtr(p))
	iov.SetLen(len(p))
	var h unix.Msghdr
	h.Name = &sa[0]
	h.Namelen = maxAddr
	h.Iov = &iov
	h.Iovlen = 1
	flags |= unix.MSG_DONTWAIT
	r, err := retry(func() (uintptr, unix.Errno) {
		r, _, e := unix.Syscall(unix.SYS_RECVMSG, uintptr(fd), uintptr(unsafe.Pointer(&h)), uintptr(flags))
		return r, e
	})
	if err != nil {
		return received{}, err
	}
	res := received{n: int(r), flags: uint32(h.Flags) &^ unix.MSG_CTRUNC}
	if h.Namelen > 0 {
		res.from = append([]byte(nil), sa[:min(h.Namelen, maxAddr)]...)
	}
	return res, nil
}

// hostGetsockopt reads an option into a buffer of size bytes.
func hostGetsockopt(fd, level, name, size int) ([]byte, error) {
	buf := make([]byte, size)
	n := uint32(size)
	_, err := retry(func() (uintptr, unix.Errno) {
		_, _, e := unix.RawSyscall6(unix.SYS_GETSOCKOPT, uintptr(fd), uintptr(level), uintptr(name),
			uintptr(bufPtr(buf)), uintptr(unsafe.Pointer(&n)), 0)
		return 0, e
	})
	if err != nil {
		return nil, err
	}
	return buf[:min(int(n), size)], nil
}

// hostSetsockopt sets an option.
func hostSetsockopt(fd, level, name int, val []byte) error {
	_, err := retry(func() (uintptr, unix.Errno) {
		_, _, e := unix.RawSyscall6(unix.SYS_SETSOCKOPT, uintptr(fd), uintptr(level), uintptr(name),
			uintptr(bufPtr(val)), uintptr(len(val)), 0)
		return 0, e
	})
	return err
}

// hostIoctl runs a read-only socket ioctl whose argument is buf.
func hostIoctl(fd int, cmd uint32, buf []byte) error {
	_, err := retry(func() (uintptr, unix.Errno) {
		_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uintptr(cmd), uintptr(bufPtr(buf)))
		return 0, e
	})
	return err
}

// pollNow returns the host's readiness of fd for events, without waiting.
func pollNow(fd int, events int16) int16 {
	fds := []unix.PollFd{{Fd: int32(fd), Events: events}}
	for {
		n, err := unix.Poll(fds, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil || n == 0 {
			return 0
		}
		return fds[0].Revents
	}
}

// uintptrOf is the address of b's first byte (b must stay alive, see
// hostIoctlKeep).
func uintptrOf(b []byte) uintptr { return uintptr(bufPtr(b)) }

// hostIoctlKeep is hostIoctl whose argument points into keep, which stays
// alive (and unmoved: Go heap objects do not move) until the call returns.
func hostIoctlKeep(fd int, cmd uint32, arg, keep []byte) error {
	err := hostIoctl(fd, cmd, arg)
	runtime.KeepAlive(keep)
	return err
}
