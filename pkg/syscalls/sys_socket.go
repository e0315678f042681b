package syscalls

import (
	"encoding/binary"
	"sync"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/kernel"
	"bulwark.dev/pkg/net"
	"bulwark.dev/pkg/net/unix"
	"bulwark.dev/pkg/vfs"
)

func init() {
	register(linux.SYS_SOCKET, sysSocket, kernel.Int, kernel.Hex, kernel.Int)
	register(linux.SYS_SOCKETPAIR, sysSocketpair, kernel.Int, kernel.Hex, kernel.Int, kernel.Hex)
	register(linux.SYS_BIND, sysBind, kernel.FD, kernel.Hex, kernel.Int)
	register(linux.SYS_CONNECT, sysConnect, kernel.FD, kernel.Hex, kernel.Int)
	register(linux.SYS_LISTEN, sysListen, kernel.FD, kernel.Int)
	register(linux.SYS_ACCEPT, sysAccept, kernel.FD, kernel.Hex, kernel.Hex)
	register(linux.SYS_ACCEPT4, sysAccept4, kernel.FD, kernel.Hex, kernel.Hex, kernel.Hex)
	register(linux.SYS_SHUTDOWN, sysShutdown, kernel.FD, kernel.Int)
	register(linux.SYS_GETSOCKNAME, sysGetsockname, kernel.FD, kernel.Hex, kernel.Hex)
	register(linux.SYS_GETPEERNAME, sysGetpeername, kernel.FD, kernel.Hex, kernel.Hex)
	register(linux.SYS_SETSOCKOPT, sysSetsockopt, kernel.FD, kernel.Int, kernel.Int, kernel.Hex, kernel.Int)
	register(linux.SYS_GETSOCKOPT, sysGetsockopt, kernel.FD, kernel.Int, kernel.Int, kernel.Hex, kernel.Hex)
}

// stacks holds each kernel's socket stack (its network namespace).
var stacks sync.Map // *kernel.Kernel -> *net.Stack

// NetStack returns k's socket stack, creating it with AF_UNIX on first
// use. Boot (or the networking code) registers more families on it, e.g.
// NetStack(k).Register(linux.AF_INET, inetFamily); families never
// registered fail socket(2) with EAFNOSUPPORT.
func NetStack(k *kernel.Kernel) *net.Stack {
	if s, ok := stacks.Load(k); ok {
		return s.(*net.Stack)
	}
	s := net.NewStack()
	unix.Register(s)
	actual, _ := stacks.LoadOrStore(k, s)
	return actual.(*net.Stack)
}

// maxSockaddr is sizeof(struct sockaddr_storage).
const maxSockaddr = 128

// getSocket returns the file at fd and its socket (linux.ENOTSOCK for
// other files); the caller drops the file's reference.
func getSocket(t *kernel.Task, fd uintptr) (*vfs.File, net.Socket, error) {
	f, err := getFile(t, fd)
	if err != nil {
		return nil, nil, err
	}
	s, err := net.FromFile(f)
	if err != nil {
		f.DecRef()
		return nil, nil, err
	}
	return f, s, nil
}

// copyInAddr reads a sockaddr argument of addrlen bytes.
func copyInAddr(t *kernel.Task, addr uintptr, addrlen uintptr) ([]byte, error) {
	n := int32(addrlen)
	if n < 0 || n > maxSockaddr {
		return nil, linux.EINVAL
	}
	b := make([]byte, n)
	if n > 0 {
		if _, err := t.CopyIn(addr, b); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// copyOutAddr writes sa to addr, truncated to the int at lenAddr, and its
// full length to lenAddr. A zero addr does nothing.
func copyOutAddr(t *kernel.Task, sa []byte, addr, lenAddr uintptr) error {
	if addr == 0 {
		return nil
	}
	var lb [4]byte
	if _, err := t.CopyIn(lenAddr, lb[:]); err != nil {
		return err
	}
	n := int32(binary.LittleEndian.Uint32(lb[:]))
	if n < 0 {
		return linux.EINVAL
	}
	if c := min(int(n), len(sa)); c > 0 {
		if _, err := t.CopyOut(addr, sa[:c]); err != nil {
			return err
		}
	}
	binary.LittleEndian.PutUint32(lb[:], uint32(len(sa)))
	_, err := t.CopyOut(lenAddr, lb[:])
	return err
}

func sysSocket(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	f, cloexec, err := NetStack(t.Kernel()).NewSocket(t, int(int32(a[0])), int(int32(a[1])), int(int32(a[2])))
	if err != nil {
		return 0, err
	}
	return installFile(t, f, cloexec)
}

func sysSocketpair(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	x, y, cloexec, err := NetStack(t.Kernel()).NewPair(t, int(int32(a[0])), int(int32(a[1])), int(int32(a[2])))
	if err != nil {
		return 0, err
	}
	defer x.DecRef()
	defer y.DecRef()
	tab := t.FDTable()
	flags := vfs.FDFlags{CloseOnExec: cloexec}
	fx, err := tab.NewFD(0, x, flags)
	if err != nil {
		return 0, err
	}
	fy, err := tab.NewFD(0, y, flags)
	if err != nil {
		closeFD(t, fx)
		return 0, err
	}
	var b [8]byte
	binary.LittleEndian.PutUint32(b[0:], uint32(fx))
	binary.LittleEndian.PutUint32(b[4:], uint32(fy))
	if _, err := t.CopyOut(a[3], b[:]); err != nil {
		closeFD(t, fx)
		closeFD(t, fy)
		return 0, err
	}
	return 0, nil
}

// closeFD removes fd from the task's table and drops its reference.
func closeFD(t *kernel.Task, fd int32) {
	if f, err := t.FDTable().Remove(fd); err == nil {
		f.DecRef()
	}
}

func sysBind(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	f, s, err := getSocket(t, a[0])
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	sa, err := copyInAddr(t, a[1], a[2])
	if err != nil {
		return 0, err
	}
	return 0, s.Bind(t, sa)
}

func sysConnect(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	f, s, err := getSocket(t, a[0])
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	sa, err := copyInAddr(t, a[1], a[2])
	if err != nil {
		return 0, err
	}
	return 0, s.Connect(t, f, sa)
}

func sysListen(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	f, s, err := getSocket(t, a[0])
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	return 0, s.Listen(t, int(int32(a[1])))
}

func accept4(t *kernel.Task, fd, addr, lenAddr uintptr, flags uint32) (uintptr, error) {
	if flags&^(linux.SOCK_NONBLOCK|linux.SOCK_CLOEXEC) != 0 {
		return 0, linux.EINVAL
	}
	f, s, err := getSocket(t, fd)
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	nf, err := s.Accept(t, f, flags&linux.O_NONBLOCK)
	if err != nil {
		return 0, err
	}
	if addr != 0 {
		ns, _ := net.FromFile(nf)
		peer, err := ns.GetPeerName(t)
		if err != nil {
			peer = binary.LittleEndian.AppendUint16(nil, linux.AF_UNSPEC)
		}
		if err := copyOutAddr(t, peer, addr, lenAddr); err != nil {
			nf.DecRef()
			return 0, err
		}
	}
	return installFile(t, nf, flags&linux.SOCK_CLOEXEC != 0)
}

func sysAccept(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return accept4(t, a[0], a[1], a[2], 0)
}

func sysAccept4(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return accept4(t, a[0], a[1], a[2], uint32(a[3]))
}

func sysShutdown(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	f, s, err := getSocket(t, a[0])
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	return 0, s.Shutdown(t, int(int32(a[1])))
}

func sockName(t *kernel.Task, a kernel.SyscallArguments, peer bool) (uintptr, error) {
	f, s, err := getSocket(t, a[0])
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	get := s.GetSockName
	if peer {
		get = s.GetPeerName
	}
	sa, err := get(t)
	if err != nil {
		return 0, err
	}
	if a[1] == 0 {
		return 0, linux.EFAULT
	}
	return 0, copyOutAddr(t, sa, a[1], a[2])
}

func sysGetsockname(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return sockName(t, a, false)
}

func sysGetpeername(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return sockName(t, a, true)
}

// maxOptLen bounds a setsockopt value.
const maxOptLen = 1 << 16

func sysSetsockopt(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	f, s, err := getSocket(t, a[0])
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	n := int32(a[4])
	if n < 0 || n > maxOptLen {
		return 0, linux.EINVAL
	}
	val := make([]byte, n)
	if n > 0 {
		if _, err := t.CopyIn(a[3], val); err != nil {
			return 0, err
		}
	}
	return 0, s.SetSockOpt(t, int(int32(a[1])), int(int32(a[2])), val)
}

func sysGetsockopt(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	f, s, err := getSocket(t, a[0])
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	var lb [4]byte
	if _, err := t.CopyIn(a[4], lb[:]); err != nil {
		return 0, err
	}
	n := int32(binary.LittleEndian.Uint32(lb[:]))
	if n < 0 {
		return 0, linux.EINVAL
	}
	val, err := s.GetSockOpt(t, int(int32(a[1])), int(int32(a[2])), int(n))
	if err != nil {
		return 0, err
	}
	c := min(int(n), len(val))
	if c > 0 {
		if _, err := t.CopyOut(a[3], val[:c]); err != nil {
			return 0, err
		}
	}
	binary.LittleEndian.PutUint32(lb[:], uint32(c))
	_, err = t.CopyOut(a[4], lb[:])
	return 0, err
}
