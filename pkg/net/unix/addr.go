package unix

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"sync"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/net"
	"bulwark.dev/pkg/vfs"
)

// address is a parsed sockaddr_un: a filesystem path, an abstract name
// (the bytes after the leading NUL) or neither (unnamed).
type address struct {
	path     string
	abstract string
	isAbs    bool
}

// unnamed reports whether a names nothing.
func (a address) unnamed() bool { return a.path == "" && !a.isAbs }

// sockaddr encodes a as getsockname returns it: the family, then the path
// and its NUL, or a NUL and the abstract name.
func (a address) sockaddr() []byte {
	b := binary.LittleEndian.AppendUint16(nil, linux.AF_UNIX)
	switch {
	case a.isAbs:
		b = append(b, 0)
		b = append(b, a.abstract...)
	case a.path != "":
		b = append(b, a.path...)
		b = append(b, 0)
	}
	return b
}

// fromAddr is the sender address recvmsg reports: nil for an unnamed
// sender (msg_namelen 0, as Linux).
func (a address) fromAddr() []byte {
	if a.unnamed() {
		return nil
	}
	return a.sockaddr()
}

// parseAddr decodes a sockaddr_un of len(b) bytes. Only the family is
// there (len 2) for autobind; that is reported by unnamed().
func parseAddr(b []byte) (address, error) {
	if len(b) < 2 || len(b) > linux.SizeofSockaddrUnix {
		return address{}, linux.EINVAL
	}
	if binary.LittleEndian.Uint16(b) != linux.AF_UNIX {
		return address{}, linux.EINVAL
	}
	p := b[2:]
	if len(p) == 0 {
		return address{}, nil
	}
	if p[0] == 0 {
		return address{abstract: string(p[1:]), isAbs: true}, nil
	}
	for i, c := range p {
		if c == 0 {
			p = p[:i]
			break
		}
	}
	return address{path: string(p)}, nil
}

// fileKey identifies a socket file: its device and inode number.
type fileKey struct {
	major, minor uint32
	ino          uint64
}

// Namespace holds one sandbox's bound names: the abstract namespace and the
// sockets bound to filesystem paths (keyed by the socket file's identity,
// so connect finds a socket whatever path leads to its file). Safe for
// concurrent use.
type Namespace struct {
	mu       sync.Mutex
	abstract map[string]*endpoint  // guarded by mu
	files    map[fileKey]*endpoint // guarded by mu
}

// NewNamespace returns an empty namespace.
func NewNamespace() *Namespace {
	return &Namespace{abstract: map[string]*endpoint{}, files: map[fileKey]*endpoint{}}
}

// binding is what an endpoint holds to unbind itself.
type binding struct {
	addr address
	key  fileKey // for path addresses
}

// statKey returns the identity of the file open as f.
func statKey(ctx vfs.Context, f *vfs.File) (fileKey, error) {
	st, err := f.Stat(ctx)
	if err != nil {
		return fileKey{}, err
	}
	return fileKey{st.DevMajor, st.DevMinor, st.Ino}, nil
}

// bind binds e to a (which is not unnamed): an abstract name, or a new
// socket file at a path (linux.EADDRINUSE if the name exists).
func (ns *Namespace) bind(ctx net.Context, e *endpoint, a address) (binding, error) {
	if a.isAbs {
		ns.mu.Lock()
		defer ns.mu.Unlock()
		if _, ok := ns.abstract[a.abstract]; ok {
			return binding{}, linux.EADDRINUSE
		}
		ns.abstract[a.abstract] = e
		return binding{addr: a}, nil
	}
	fs := ctx.FSContext()
	if fs == nil {
		return binding{}, linux.EOPNOTSUPP
	}
	if err := vfs.MknodAt(ctx, fs, nil, a.path, linux.S_IFSOCK|0o777, 0); err != nil {
		if err == linux.EEXIST {
			return binding{}, linux.EADDRINUSE
		}
		return binding{}, err
	}
	f, err := vfs.OpenAt(ctx, fs, nil, a.path, linux.O_PATH|linux.O_NOFOLLOW, 0)
	if err != nil {
		return binding{}, err
	}
	defer f.DecRef()
	key, err := statKey(ctx, f)
	if err != nil {
		return binding{}, err
	}
	ns.mu.Lock()
	defer ns.mu.Unlock()
	ns.files[key] = e
	return binding{addr: a, key: key}, nil
}

// autobind binds e to a free abstract name of five hex digits, as Linux
// does for an unnamed socket that binds with only the family or sends
// credentials.
func (ns *Namespace) autobind(e *endpoint) (binding, error) {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	start := rand.IntN(0x100000)
	for i := range 0x100000 {
		name := fmt.Sprintf("%05x", (start+i)&0xfffff)
		if _, ok := ns.abstract[name]; !ok {
			ns.abstract[name] = e
			return binding{addr: address{abstract: name, isAbs: true}}, nil
		}
	}
	return binding{}, linux.ENOSPC
}

// unbind removes b if it still names e.
func (ns *Namespace) unbind(e *endpoint, b binding) {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	switch {
	case b.addr.isAbs:
		if ns.abstract[b.addr.abstract] == e {
			delete(ns.abstract, b.addr.abstract)
		}
	case b.addr.path != "":
		if ns.files[b.key] == e {
			delete(ns.files, b.key)
		}
	}
}

// lookup finds the socket bound to a: for a path, the file must be a
// socket the caller may write to (linux.ECONNREFUSED when nothing is bound
// there).
func (ns *Namespace) lookup(ctx net.Context, a address) (*endpoint, error) {
	if a.unnamed() {
		return nil, linux.EINVAL
	}
	if a.isAbs {
		ns.mu.Lock()
		defer ns.mu.Unlock()
		e, ok := ns.abstract[a.abstract]
		if !ok {
			return nil, linux.ECONNREFUSED
		}
		return e, nil
	}
	fs := ctx.FSContext()
	if fs == nil {
		return nil, linux.ECONNREFUSED
	}
	f, err := vfs.OpenAt(ctx, fs, nil, a.path, linux.O_PATH, 0)
	if err != nil {
		return nil, err
	}
	defer f.DecRef()
	attr, err := f.Inode().Stat(ctx)
	if err != nil {
		return nil, err
	}
	if err := vfs.CheckPermission(ctx.Credentials(), attr, vfs.MayWrite); err != nil {
		return nil, err
	}
	if attr.Type() != linux.S_IFSOCK {
		return nil, linux.ECONNREFUSED
	}
	key, err := statKey(ctx, f)
	if err != nil {
		return nil, err
	}
	ns.mu.Lock()
	defer ns.mu.Unlock()
	e, ok := ns.files[key]
	if !ok {
		return nil, linux.ECONNREFUSED
	}
	return e, nil
}
