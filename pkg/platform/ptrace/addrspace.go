package ptrace

import (
	"fmt"
	"sync"

	"golang.org/x/sys/unix"

	"bulwark.dev/pkg/platform"
)

// addressSpace is one stub process. Its methods send requests to the stub's
// tracer, so they are serialised with each other and with Switch.
//
// Today an address space has one stub thread, used by every context that
// switches into it. CLONE_VM threads will need one stub thread (and tracer)
// per context, all in this stub's thread group.
type addressSpace struct {
	p    *Platform
	s    *stub
	t    *tracer
	once sync.Once
}

var _ platform.AddressSpace = (*addressSpace)(nil)

// do runs f on the stub's tracer.
func (as *addressSpace) do(f func() error) error {
	var ferr error
	if err := as.t.do(func() { ferr = f() }); err != nil {
		return err
	}
	return ferr
}

// MapFile implements platform.AddressSpace.
func (as *addressSpace) MapFile(addr, length uintptr, off int64, prot int) error {
	return as.do(func() error {
		_, err := as.s.syscall(unix.SYS_MMAP, addr, length, uintptr(prot),
			unix.MAP_SHARED|unix.MAP_FIXED, stubMemFD, uintptr(off))
		if err != nil {
			return fmt.Errorf("mapping %#x+%#x at file offset %#x in stub %d: %w", addr, length, off, as.s.pid, err)
		}
		return nil
	})
}

// Unmap implements platform.AddressSpace.
func (as *addressSpace) Unmap(addr, length uintptr) error {
	return as.do(func() error {
		if _, err := as.s.syscall(unix.SYS_MUNMAP, addr, length); err != nil {
			return fmt.Errorf("unmapping %#x+%#x in stub %d: %w", addr, length, as.s.pid, err)
		}
		return nil
	})
}

// Protect implements platform.AddressSpace.
func (as *addressSpace) Protect(addr, length uintptr, prot int) error {
	return as.do(func() error {
		if _, err := as.s.syscall(unix.SYS_MPROTECT, addr, length, uintptr(prot)); err != nil {
			return fmt.Errorf("protecting %#x+%#x in stub %d: %w", addr, length, as.s.pid, err)
		}
		return nil
	})
}

// Release implements platform.AddressSpace: it kills and reaps the stub.
func (as *addressSpace) Release() {
	as.release()
	as.p.forget(as)
}

func (as *addressSpace) release() {
	as.once.Do(func() {
		// Kill first, from here, so that a Switch in progress returns
		// (with an error) and the tracer becomes free to reap.
		as.s.signalKill()
		as.t.do(as.s.kill)
		as.t.stop()
		as.s.closePidfd()
	})
}
