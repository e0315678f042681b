package ptrace

import (
	"fmt"
	"sync"

	"golang.org/x/sys/unix"

	"bulwark.dev/pkg/platform"
	istub "bulwark.dev/pkg/platform/internal/stub"
)

// addressSpace is one stub process. Its first thread, s, never runs
// application code: it serves MapFile, Unmap and Protect (injected on its
// tracer t, never waiting for a running application thread) and clones one
// more thread per context that switches into the address space; each such
// thread is traced by the OS thread of its context's goroutine.
//
// When MapFile, Unmap or Protect is called by a goroutine whose thread
// traces one of the context threads (a task mapping memory for itself, as
// on a page fault), the syscall is injected into that thread directly:
// it is stopped, since its only driver is the caller, and the next Switch
// sets all its registers again. This saves two thread hand-offs.
//
// Lock order: addressSpace.mu → stub.mu.
type addressSpace struct {
	p    *Platform
	s    *stub
	t    *tracer
	once sync.Once

	mu       sync.Mutex
	threads  map[*stub]struct{} // mu: context threads, reaped at release
	tracers  map[int]*stub      // mu: context threads by the tid of their tracer
	released bool               // mu
	// live is set once a context thread ran the changes recorded in
	// pending (see pending.go); until then changes are only recorded.
	live    bool     // mu
	pending []hostOp // mu
	failed  error    // mu: why the stub cannot go live (it is gone)
	// spareThread was cloned ahead of need (pool.go) for the first
	// context that switches in; it is also in threads.
	spareThread *stub // mu
}

// cloneFlags make a stub thread sharing everything with the stub.
const cloneFlags = unix.CLONE_VM | unix.CLONE_FS | unix.CLONE_FILES | unix.CLONE_SIGHAND |
	unix.CLONE_THREAD | unix.CLONE_SYSVSEM

// newThread returns a new thread of the stub, cloned now or ahead of need;
// it loops in pause() until the caller's tracer seizes it.
func (as *addressSpace) newThread() (*stub, error) {
	as.mu.Lock()
	released, th := as.released, as.spareThread
	as.spareThread = nil
	as.mu.Unlock()
	if released {
		return nil, errStubGone
	}
	if th != nil {
		return th, nil
	}
	return as.cloneThread()
}

// cloneThread clones a new thread in the stub.
func (as *addressSpace) cloneThread() (*stub, error) {
	var tid uintptr
	var ferr error
	if err := as.t.Do(func() {
		tid, ferr = as.s.Inject(as.p.img.cloneAddr, as.p.img.cloneParentTrap, 0, nrClone, cloneFlags)
	}); err != nil {
		return nil, err
	}
	if ferr != nil {
		as.fail(ferr)
		return nil, fmt.Errorf("cloning a thread in stub %d: %w", as.s.PID, ferr)
	}
	if e := int64(tid); e < 0 {
		return nil, fmt.Errorf("cloning a thread in stub %d: %w", as.s.PID, unix.Errno(-e))
	}
	th := newStub(as.p.img, int(tid), as.s.PID)
	as.mu.Lock()
	defer as.mu.Unlock()
	if as.released {
		// The thread dies with the stub; untraced, it needs no reaping.
		return nil, errStubGone
	}
	as.threads[th] = struct{}{}
	return th, nil
}

// fail records that the stub cannot run application code: changes made
// before it went live fail from now on.
func (as *addressSpace) fail(err error) {
	as.mu.Lock()
	if as.failed == nil {
		as.failed = err
	}
	as.mu.Unlock()
}

// forgetThread removes a context thread that exited or will be reaped.
func (as *addressSpace) forgetThread(th *stub) {
	as.mu.Lock()
	delete(as.threads, th)
	if as.tracers[th.tracer] == th {
		delete(as.tracers, th.tracer)
	}
	as.mu.Unlock()
}

// setTracer records that the OS thread tid traces th.
func (as *addressSpace) setTracer(th *stub, tid int) {
	as.mu.Lock()
	defer as.mu.Unlock()
	if as.released {
		return
	}
	th.tracer = tid
	as.tracers[tid] = th
}

// tracedBy returns the context thread traced by the OS thread tid, or nil.
func (as *addressSpace) tracedBy(tid int) *stub {
	as.mu.Lock()
	defer as.mu.Unlock()
	return as.tracers[tid]
}

// isReleased reports whether Release was called.
func (as *addressSpace) isReleased() bool {
	as.mu.Lock()
	defer as.mu.Unlock()
	return as.released
}

var _ platform.AddressSpace = (*addressSpace)(nil)

// syscall runs a host syscall in the stub: in the context thread that the
// calling OS thread traces, if there is one, else in the first thread on
// its tracer; before the address space is live it is only recorded.
func (as *addressSpace) syscall(nr uintptr, args ...uintptr) error {
	as.mu.Lock()
	deferred, err := as.deferLocked(nr, args)
	as.mu.Unlock()
	if deferred || err != nil {
		return err
	}
	if th := as.tracedBy(unix.Gettid()); th != nil && th.Dead == nil {
		_, err := th.Syscall(nr, args...)
		return err
	}
	return as.syscallInFirst(nr, args...)
}

// syscallInFirst runs a host syscall in the stub's first thread.
func (as *addressSpace) syscallInFirst(nr uintptr, args ...uintptr) error {
	var err error
	if terr := as.t.Do(func() { _, err = as.s.Syscall(nr, args...) }); terr != nil {
		return terr
	}
	return err
}

// MapFile implements platform.AddressSpace.
func (as *addressSpace) MapFile(addr, length uintptr, off int64, prot int) error {
	err := as.syscall(unix.SYS_MMAP, addr, length, uintptr(prot), unix.MAP_SHARED|unix.MAP_FIXED, stubMemFD, uintptr(off))
	if err != nil {
		return fmt.Errorf("mapping %#x+%#x at file offset %#x in stub %d: %w", addr, length, off, as.s.PID, err)
	}
	return nil
}

// Unmap implements platform.AddressSpace.
func (as *addressSpace) Unmap(addr, length uintptr) error {
	if err := as.syscall(unix.SYS_MUNMAP, addr, length); err != nil {
		return fmt.Errorf("unmapping %#x+%#x in stub %d: %w", addr, length, as.s.PID, err)
	}
	return nil
}

// Protect implements platform.AddressSpace.
func (as *addressSpace) Protect(addr, length uintptr, prot int) error {
	if err := as.syscall(unix.SYS_MPROTECT, addr, length, uintptr(prot)); err != nil {
		return fmt.Errorf("protecting %#x+%#x in stub %d: %w", addr, length, as.s.PID, err)
	}
	return nil
}

// Release implements platform.AddressSpace: it kills the stub, whose
// threads are reaped, and its first thread's tracer stopped, in the
// background: the host tearing down the stub is not worth waiting for
// (Close does). The context threads are reaped by polling, since their
// tracers (task threads) go on with other work.
func (as *addressSpace) Release() {
	as.release()
	as.p.forget(as)
}

func (as *addressSpace) release() {
	as.once.Do(func() {
		as.mu.Lock()
		as.released = true
		as.pending = nil
		threads := as.threads
		as.threads, as.tracers = nil, nil
		as.mu.Unlock()
		// Kill first, from here, so that a Switch in progress returns
		// (with an error). The context threads are reaped before the
		// first thread, which Linux reports only after all others.
		as.s.SignalKill()
		as.p.background(func() {
			for th := range threads {
				th.ReapExitIdle()
			}
			as.t.Do(as.s.Kill)
			as.t.Stop()
			as.s.ClosePidfd()
		})
	})
}

// unpin lets the context thread th run on any CPU. Any goroutine may call
// it: the first thread runs sched_setaffinity for th.
func (as *addressSpace) unpin(th *stub) {
	as.syscallInFirst(unix.SYS_SCHED_SETAFFINITY, uintptr(th.PID), istub.AllMaskSize, istub.AllMaskAddr())
}
