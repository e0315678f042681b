package net

import (
	"sync"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/vfs"
)

// Stack is one sandbox's set of address families (its network namespace).
// Safe for concurrent use.
type Stack struct {
	mu       sync.RWMutex
	families map[int]Family // guarded by mu
	ifIoctl  IfIoctlFunc    // guarded by mu
}

// IfIoctlFunc serves an interface request (SIOCGIF*) for the stack's
// network namespace; ok is false when cmd is not one it serves.
type IfIoctlFunc func(ctx vfs.Context, cmd uint32, arg uintptr) (ret uintptr, ok bool, err error)

// SetInterfaceIoctl installs the server of interface requests (a family
// with access to the namespace's interfaces provides it).
func (s *Stack) SetInterfaceIoctl(fn IfIoctlFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ifIoctl = fn
}

// InterfaceIoctl serves the interface requests Linux answers on a socket
// of any family (glibc's if_nametoindex asks an AF_UNIX socket); ok is
// false when cmd is not one, or no family provides them.
func (s *Stack) InterfaceIoctl(ctx vfs.Context, cmd uint32, arg uintptr) (uintptr, bool, error) {
	s.mu.RLock()
	fn := s.ifIoctl
	s.mu.RUnlock()
	if fn == nil {
		return 0, false, nil
	}
	return fn(ctx, cmd, arg)
}

// NewStack returns a stack with no families: every socket(2) fails with
// linux.EAFNOSUPPORT until families are registered.
func NewStack() *Stack { return &Stack{families: map[int]Family{}} }

// Register makes fam serve address family domain (linux.AF_*), replacing
// any earlier registration.
func (s *Stack) Register(domain int, fam Family) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.families[domain] = fam
}

// Family returns the implementation of domain, or linux.EAFNOSUPPORT.
func (s *Stack) Family(domain int) (Family, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	fam, ok := s.families[domain]
	if !ok {
		return nil, linux.EAFNOSUPPORT
	}
	return fam, nil
}

// typeAndFlags splits socket(2)'s type argument.
func typeAndFlags(typ int) (int, uint32, error) {
	flags := uint32(typ) &^ linux.SOCK_TYPE_MASK
	if flags&^(linux.SOCK_NONBLOCK|linux.SOCK_CLOEXEC) != 0 {
		return 0, 0, linux.EINVAL
	}
	return typ & linux.SOCK_TYPE_MASK, flags, nil
}

// NewSocket implements socket(2): typ may carry SOCK_NONBLOCK and
// SOCK_CLOEXEC. It returns the file (one reference) and whether the fd is
// close-on-exec.
func (s *Stack) NewSocket(ctx Context, domain, typ, protocol int) (*vfs.File, bool, error) {
	t, flags, err := typeAndFlags(typ)
	if err != nil {
		return nil, false, err
	}
	fam, err := s.Family(domain)
	if err != nil {
		return nil, false, err
	}
	sock, err := fam.Socket(ctx, t, protocol)
	if err != nil {
		return nil, false, err
	}
	return NewFile(ctx, sock, flags&linux.O_NONBLOCK), flags&linux.SOCK_CLOEXEC != 0, nil
}

// NewPair implements socketpair(2) like NewSocket.
func (s *Stack) NewPair(ctx Context, domain, typ, protocol int) (*vfs.File, *vfs.File, bool, error) {
	t, flags, err := typeAndFlags(typ)
	if err != nil {
		return nil, nil, false, err
	}
	fam, err := s.Family(domain)
	if err != nil {
		return nil, nil, false, err
	}
	a, b, err := fam.Pair(ctx, t, protocol)
	if err != nil {
		return nil, nil, false, err
	}
	nb := flags & linux.O_NONBLOCK
	return NewFile(ctx, a, nb), NewFile(ctx, b, nb), flags&linux.SOCK_CLOEXEC != 0, nil
}
