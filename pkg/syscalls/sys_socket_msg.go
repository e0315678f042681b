package syscalls

import (
	"encoding/binary"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/kernel"
	"bulwark.dev/pkg/kernel/auth"
	"bulwark.dev/pkg/net"
	"bulwark.dev/pkg/vfs"
)

func init() {
	register(linux.SYS_SENDTO, sysSendto, kernel.FD, kernel.WriteBuf, kernel.Int, kernel.Hex, kernel.Hex, kernel.Int)
	register(linux.SYS_RECVFROM, sysRecvfrom, kernel.FD, kernel.ReadBuf, kernel.Int, kernel.Hex, kernel.Hex, kernel.Hex)
	register(linux.SYS_SENDMSG, sysSendmsg, kernel.FD, kernel.Hex, kernel.Hex)
	register(linux.SYS_RECVMSG, sysRecvmsg, kernel.FD, kernel.Hex, kernel.Hex)
	register(linux.SYS_SENDMMSG, sysSendmmsg, kernel.FD, kernel.Hex, kernel.Int, kernel.Hex)
	register(linux.SYS_RECVMMSG, sysRecvmmsg, kernel.FD, kernel.Hex, kernel.Int, kernel.Hex, kernel.Hex)
}

// maxSockIO bounds the bytes one send or receive moves (the kernel
// buffers them); a stream transfer is simply short beyond it.
const maxSockIO = 16 << 20

// msghdr is struct msghdr, decoded.
type msghdr struct {
	name       uintptr
	namelen    uint32
	iov        uintptr
	iovlen     uint64
	control    uintptr
	controllen uint64
}

func copyInMsghdr(t *kernel.Task, addr uintptr) (msghdr, error) {
	var b [linux.SizeofMsghdr]byte
	if _, err := t.CopyIn(addr, b[:]); err != nil {
		return msghdr{}, err
	}
	le := binary.LittleEndian
	return msghdr{
		name: uintptr(le.Uint64(b[0:])), namelen: le.Uint32(b[8:]),
		iov: uintptr(le.Uint64(b[16:])), iovlen: le.Uint64(b[24:]),
		control: uintptr(le.Uint64(b[32:])), controllen: le.Uint64(b[40:]),
	}, nil
}

// iovTotal returns the bytes the iovecs cover, capped at maxSockIO.
func iovTotal(iovs []iovec) int {
	n := 0
	for _, v := range iovs {
		n += v.len
	}
	return min(n, maxSockIO)
}

// gather copies the iovecs' bytes in.
func gather(t *kernel.Task, iovs []iovec) ([]byte, error) {
	buf := make([]byte, iovTotal(iovs))
	off := 0
	for _, v := range iovs {
		if off == len(buf) {
			break
		}
		n := min(v.len, len(buf)-off)
		if n == 0 {
			continue
		}
		if _, err := t.CopyIn(v.base, buf[off:off+n]); err != nil {
			return nil, err
		}
		off += n
	}
	return buf, nil
}

// scatter copies data out over the iovecs.
func scatter(t *kernel.Task, iovs []iovec, data []byte) error {
	for _, v := range iovs {
		if len(data) == 0 {
			return nil
		}
		n := min(v.len, len(data))
		if n == 0 {
			continue
		}
		if _, err := t.CopyOut(v.base, data[:n]); err != nil {
			return err
		}
		data = data[n:]
	}
	return nil
}

// parseControl decodes sendmsg's control messages: SCM_RIGHTS (the files,
// referenced) and SCM_CREDENTIALS (checked against the caller's
// credentials).
func parseControl(t *kernel.Task, b []byte) (net.ControlMessages, error) {
	var ctl net.ControlMessages
	le := binary.LittleEndian
	for len(b) >= linux.SizeofCmsghdr {
		clen := le.Uint64(b)
		if clen < linux.SizeofCmsghdr || clen > uint64(len(b)) {
			ctl.Release()
			return net.ControlMessages{}, linux.EINVAL
		}
		level, typ := int32(le.Uint32(b[8:])), int32(le.Uint32(b[12:]))
		data := b[linux.SizeofCmsghdr:clen]
		if level != linux.SOL_SOCKET {
			ctl.Release()
			return net.ControlMessages{}, linux.EINVAL
		}
		var err error
		switch typ {
		case linux.SCM_RIGHTS:
			err = addRights(t, &ctl, data)
		case linux.SCM_CREDENTIALS:
			err = setCreds(t, &ctl, data)
		default:
			err = linux.EINVAL
		}
		if err != nil {
			ctl.Release()
			return net.ControlMessages{}, err
		}
		next := linux.CmsgAlign(int(clen))
		if next >= len(b) {
			break
		}
		b = b[next:]
	}
	return ctl, nil
}

func addRights(t *kernel.Task, ctl *net.ControlMessages, data []byte) error {
	n := len(data) / 4
	if len(ctl.Rights)+n > linux.SCM_MAX_FD {
		return linux.EINVAL
	}
	for i := range n {
		f, _, err := t.FDTable().Get(int32(binary.LittleEndian.Uint32(data[4*i:])))
		if err != nil {
			return err
		}
		ctl.Rights = append(ctl.Rights, f)
	}
	return nil
}

func setCreds(t *kernel.Task, ctl *net.ControlMessages, data []byte) error {
	if len(data) != linux.SizeofUcred {
		return linux.EINVAL
	}
	u, err := net.DecodeUcred(data)
	if err != nil {
		return err
	}
	c := t.Credentials()
	switch {
	case u.PID != t.PID() && !c.HasCapability(auth.CapSysAdmin):
		return linux.EPERM
	case u.UID != c.RealUID && u.UID != c.EffectiveUID && u.UID != c.SavedUID && !c.HasCapability(auth.CapSetuid):
		return linux.EPERM
	case u.GID != c.RealGID && u.GID != c.EffectiveGID && u.GID != c.SavedGID && !c.HasCapability(auth.CapSetgid):
		return linux.EPERM
	}
	ctl.Creds = &u
	return nil
}

// send runs one sendmsg and sends SIGPIPE on EPIPE unless MSG_NOSIGNAL.
func send(t *kernel.Task, f *vfs.File, s net.Socket, req net.SendRequest) (int, error) {
	n, err := s.SendMsg(t, f, req)
	if err == linux.EPIPE && req.Flags&linux.MSG_NOSIGNAL == 0 {
		t.SendSignal(linux.SIGPIPE)
	}
	return n, err
}

func sysSendto(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	f, s, err := getSocket(t, a[0])
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	n := int(min(uint64(a[2]), maxSockIO))
	data := make([]byte, n)
	if n > 0 {
		if _, err := t.CopyIn(a[1], data); err != nil {
			return 0, err
		}
	}
	req := net.SendRequest{Data: data, Flags: uint32(a[3])}
	if a[4] != 0 && int32(a[5]) != 0 {
		if req.To, err = copyInAddr(t, a[4], a[5]); err != nil {
			return 0, err
		}
	}
	sent, err := send(t, f, s, req)
	return uintptr(sent), err
}

func sysRecvfrom(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	f, s, err := getSocket(t, a[0])
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	buf := make([]byte, int(min(uint64(a[2]), maxSockIO)))
	res, err := s.RecvMsg(t, f, buf, uint32(a[3]))
	res.Control.Release()
	if err != nil {
		return 0, err
	}
	if res.N > 0 {
		if _, err := t.CopyOut(a[1], buf[:res.N]); err != nil {
			return 0, err
		}
	}
	if a[4] != 0 {
		if err := copyOutAddr(t, res.From, a[4], a[5]); err != nil {
			return 0, err
		}
	}
	return uintptr(res.Len), nil
}

// sendMsg serves one struct msghdr at addr.
func sendMsg(t *kernel.Task, f *vfs.File, s net.Socket, addr uintptr, flags uint32) (int, error) {
	h, err := copyInMsghdr(t, addr)
	if err != nil {
		return 0, err
	}
	if h.iovlen > 1024 {
		return 0, linux.EMSGSIZE
	}
	iovs, err := copyIovecs(t, h.iov, int(h.iovlen))
	if err != nil {
		return 0, err
	}
	req := net.SendRequest{Flags: flags}
	if req.Data, err = gather(t, iovs); err != nil {
		return 0, err
	}
	if h.name != 0 && h.namelen != 0 {
		if req.To, err = copyInAddr(t, h.name, uintptr(h.namelen)); err != nil {
			return 0, err
		}
	}
	if h.controllen > 0 {
		if h.controllen > maxOptLen {
			return 0, linux.ENOBUFS
		}
		cb := make([]byte, h.controllen)
		if _, err := t.CopyIn(h.control, cb); err != nil {
			return 0, err
		}
		if req.Control, err = parseControl(t, cb); err != nil {
			return 0, err
		}
	}
	return send(t, f, s, req)
}

func sysSendmsg(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	f, s, err := getSocket(t, a[0])
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	n, err := sendMsg(t, f, s, a[1], uint32(a[2]))
	return uintptr(n), err
}

// controlWriter lays out recvmsg's control messages as put_cmsg and
// scm_detach_fds do, truncating (MSG_CTRUNC) when the buffer is short.
type controlWriter struct {
	buf   []byte // the caller's buffer size worth of bytes
	used  int
	flags uint32
}

func (w *controlWriter) room() int { return len(w.buf) - w.used }

// put appends one control message.
func (w *controlWriter) put(typ int32, data []byte) {
	if w.room() < linux.SizeofCmsghdr {
		w.flags |= linux.MSG_CTRUNC
		return
	}
	clen := linux.CmsgLen(len(data))
	if w.room() < clen {
		w.flags |= linux.MSG_CTRUNC
		clen = w.room()
	}
	b := w.buf[w.used:]
	binary.LittleEndian.PutUint64(b, uint64(clen))
	binary.LittleEndian.PutUint32(b[8:], linux.SOL_SOCKET)
	binary.LittleEndian.PutUint32(b[12:], uint32(typ))
	copy(b[linux.SizeofCmsghdr:clen], data)
	w.used += min(linux.CmsgSpace(len(data)), w.room())
}

// putRights installs as many files as fit (in the buffer and the fd
// table) with install and records their numbers; the rest are closed and
// MSG_CTRUNC is set, as Linux's scm_detach_fds does.
func (w *controlWriter) putRights(files []*vfs.File, install func(*vfs.File) (int32, error)) {
	defer releaseAll(files)
	max := 0
	if w.room() > linux.SizeofCmsghdr {
		max = (w.room() - linux.SizeofCmsghdr) / 4
	}
	var fds []byte
	for i := 0; i < len(files) && i < max; i++ {
		fd, err := install(files[i])
		if err != nil {
			break
		}
		fds = binary.LittleEndian.AppendUint32(fds, uint32(fd))
	}
	if len(fds)/4 < len(files) {
		w.flags |= linux.MSG_CTRUNC
	}
	if len(fds) > 0 {
		w.put(linux.SCM_RIGHTS, fds)
	}
}

func releaseAll(files []*vfs.File) {
	for _, f := range files {
		f.DecRef()
	}
}

// recvMsg serves one struct msghdr at addr and returns recvmsg's result.
func recvMsg(t *kernel.Task, f *vfs.File, s net.Socket, addr uintptr, flags uint32) (int, error) {
	h, err := copyInMsghdr(t, addr)
	if err != nil {
		return 0, err
	}
	if h.iovlen > 1024 {
		return 0, linux.EMSGSIZE
	}
	iovs, err := copyIovecs(t, h.iov, int(h.iovlen))
	if err != nil {
		return 0, err
	}
	buf := make([]byte, iovTotal(iovs))
	res, err := s.RecvMsg(t, f, buf, flags&^linux.MSG_CMSG_CLOEXEC)
	if err != nil {
		res.Control.Release()
		return 0, err
	}
	if err := scatter(t, iovs, buf[:res.N]); err != nil {
		res.Control.Release()
		return 0, err
	}
	le := binary.LittleEndian
	var namelen uint32
	if h.name != 0 && res.From != nil {
		c := min(int(h.namelen), len(res.From))
		if _, err := t.CopyOut(h.name, res.From[:c]); err != nil {
			res.Control.Release()
			return 0, err
		}
		namelen = uint32(len(res.From))
	}
	w := controlWriter{buf: make([]byte, min(h.controllen, maxOptLen))}
	if res.Control.Creds != nil {
		w.put(linux.SCM_CREDENTIALS, net.EncodeUcred(*res.Control.Creds))
	}
	if len(res.Control.Rights) > 0 {
		rights := res.Control.Rights
		res.Control.Rights = nil
		fdFlags := vfs.FDFlags{CloseOnExec: flags&linux.MSG_CMSG_CLOEXEC != 0}
		w.putRights(rights, func(f *vfs.File) (int32, error) { return t.FDTable().NewFD(0, f, fdFlags) })
	}
	if w.used > 0 {
		if _, err := t.CopyOut(h.control, w.buf[:w.used]); err != nil {
			return 0, err
		}
	}
	var out [4]byte
	le.PutUint32(out[:], namelen)
	if _, err := t.CopyOut(addr+8, out[:]); err != nil {
		return 0, err
	}
	var cl [8]byte
	le.PutUint64(cl[:], uint64(w.used))
	if _, err := t.CopyOut(addr+40, cl[:]); err != nil {
		return 0, err
	}
	le.PutUint32(out[:], res.Flags|w.flags)
	if _, err := t.CopyOut(addr+48, out[:]); err != nil {
		return 0, err
	}
	return res.Len, nil
}

func sysRecvmsg(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	f, s, err := getSocket(t, a[0])
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	n, err := recvMsg(t, f, s, a[1], uint32(a[2]))
	return uintptr(n), err
}

// mmsg runs op on up to vlen struct mmsghdr at vec, storing each result
// in msg_len; it returns how many succeeded, or the first error if none.
func mmsg(t *kernel.Task, vec uintptr, vlen uint32, op func(i int, addr uintptr) (int, error)) (uintptr, error) {
	vlen = min(vlen, 1024)
	done := 0
	for i := 0; i < int(vlen); i++ {
		addr := vec + uintptr(i)*linux.SizeofMmsghdr
		n, err := op(i, addr)
		if err != nil {
			if done > 0 {
				return uintptr(done), nil
			}
			return 0, err
		}
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], uint32(n))
		if _, err := t.CopyOut(addr+linux.SizeofMsghdr, b[:]); err != nil {
			if done > 0 {
				return uintptr(done), nil
			}
			return 0, err
		}
		done++
	}
	return uintptr(done), nil
}

func sysSendmmsg(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	f, s, err := getSocket(t, a[0])
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	flags := uint32(a[3])
	return mmsg(t, a[1], uint32(a[2]), func(_ int, addr uintptr) (int, error) {
		return sendMsg(t, f, s, addr, flags)
	})
}

// sysRecvmmsg implements recvmmsg(2); MSG_WAITFORONE makes every receive
// after the first non-blocking. The timeout is not implemented (ignored).
func sysRecvmmsg(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	f, s, err := getSocket(t, a[0])
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	flags := uint32(a[3])
	return mmsg(t, a[1], uint32(a[2]), func(i int, addr uintptr) (int, error) {
		fl := flags
		if i > 0 && flags&linux.MSG_WAITFORONE != 0 {
			fl |= linux.MSG_DONTWAIT
		}
		return recvMsg(t, f, s, addr, fl&^linux.MSG_WAITFORONE)
	})
}
