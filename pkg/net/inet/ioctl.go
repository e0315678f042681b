package inet

import (
	"encoding/binary"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/vfs"
)

// intIoctls answer an int: bytes queued to read, to send, at the
// urgent mark.
var intIoctls = map[uint32]bool{linux.FIONREAD: true, linux.SIOCOUTQ: true, linux.SIOCATMARK: true}

// ifreqIoctls read one interface's configuration through a struct ifreq
// (the host's view of the sandbox's network namespace). Only reads: the
// SIOCSIF* requests fail with ENOTTY like any unknown request.
var ifreqIoctls = map[uint32]bool{
	linux.SIOCGIFNAME: true, linux.SIOCGIFFLAGS: true, linux.SIOCGIFADDR: true, linux.SIOCGIFBRDADDR: true,
	linux.SIOCGIFNETMASK: true, linux.SIOCGIFMTU: true, linux.SIOCGIFHWADDR: true, linux.SIOCGIFINDEX: true,
}

// IoctlRequests returns the requests forwarded to host sockets (the
// seccomp filter allows exactly these).
func IoctlRequests() []uint32 {
	out := []uint32{linux.SIOCGIFCONF}
	for _, m := range []map[uint32]bool{intIoctls, ifreqIoctls} {
		for c := range m {
			out = append(out, c)
		}
	}
	return out
}

// maxIfconf bounds SIOCGIFCONF's buffer.
const maxIfconf = 64 << 10

// Ioctl implements vfs.Ioctler.
func (s *socket) Ioctl(ctx vfs.Context, _ *vfs.File, cmd uint32, arg uintptr) (uintptr, error) {
	if intIoctls[cmd] {
		var b [4]byte
		if err := hostIoctl(s.fd, cmd, b[:]); err != nil {
			return 0, err
		}
		_, err := ctx.CopyOut(arg, b[:])
		return 0, err
	}
	if r, ok, err := ifIoctl(s.fd, ctx, cmd, arg); ok {
		return r, err
	}
	return 0, linux.ENOTTY
}

// ifIoctl serves the interface requests through host socket fd (any
// socket of the namespace answers them); ok is false for other requests.
func ifIoctl(fd int, ctx vfs.Context, cmd uint32, arg uintptr) (uintptr, bool, error) {
	switch {
	case ifreqIoctls[cmd]:
		var req [linux.SizeofIfreq]byte
		if _, err := ctx.CopyIn(arg, req[:]); err != nil {
			return 0, true, err
		}
		if err := hostIoctl(fd, cmd, req[:]); err != nil {
			return 0, true, err
		}
		_, err := ctx.CopyOut(arg, req[:])
		return 0, true, err
	case cmd == linux.SIOCGIFCONF:
		return 0, true, ifconf(fd, ctx, arg)
	}
	return 0, false, nil
}

// ifconf serves SIOCGIFCONF: struct ifconf holds a length and a pointer
// into the application's memory, so the host fills a buffer of ours.
func ifconf(fd int, ctx vfs.Context, arg uintptr) error {
	var ic [linux.SizeofIfconf]byte
	if _, err := ctx.CopyIn(arg, ic[:]); err != nil {
		return err
	}
	le := binary.LittleEndian
	n := int32(le.Uint32(ic[:]))
	ptr := uintptr(le.Uint64(ic[8:]))
	if n < 0 {
		return linux.EINVAL
	}
	size := 0
	if ptr != 0 {
		size = min(int(n), maxIfconf)
	}
	buf := make([]byte, size)
	var hic [linux.SizeofIfconf]byte
	le.PutUint32(hic[:], uint32(size))
	if size > 0 {
		le.PutUint64(hic[8:], uint64(uintptrOf(buf)))
	}
	if err := hostIoctlKeep(fd, linux.SIOCGIFCONF, hic[:], buf); err != nil {
		return err
	}
	got := int(le.Uint32(hic[:]))
	if ptr != 0 && got > 0 {
		if _, err := ctx.CopyOut(ptr, buf[:min(got, size)]); err != nil {
			return err
		}
	}
	le.PutUint32(ic[:], uint32(got))
	_, err := ctx.CopyOut(arg, ic[:4])
	return err
}
