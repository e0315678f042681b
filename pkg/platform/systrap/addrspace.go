package systrap

import (
	"encoding/binary"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"bulwark.dev/pkg/platform"
	istub "bulwark.dev/pkg/platform/internal/stub"
)

// addressSpace is one stub process. Its first thread, s, never runs
// application code: it serves MapFile, Unmap and Protect and creates the
// context threads, all by injection on its tracer t.
//
// Lock order: addressSpace.mu → slotFile.mu.
type addressSpace struct {
	p    *Platform
	s    *stub
	t    *tracer
	once sync.Once

	released atomic.Bool // set first thing by release

	mu      sync.Mutex
	threads map[*thread]struct{} // mu: live context threads
	used    []bool               // mu: stub slot indices in use
}

var _ platform.AddressSpace = (*addressSpace)(nil)

// thread is a context thread of a stub process. Only the goroutine of its
// context uses it, except Interrupt's tgkill.
type thread struct {
	as     *addressSpace
	tid    int
	sl     *slot
	fs, gs uint64 // the thread's fs_base and gs_base on the host
	// refs counts the context and the live address space; the slot is
	// reused when both have let go (see unref).
	refs atomic.Int32
}

// cloneFlags make a stub thread sharing everything with the stub.
const cloneFlags = unix.CLONE_VM | unix.CLONE_FS | unix.CLONE_FILES | unix.CLONE_SIGHAND |
	unix.CLONE_THREAD | unix.CLONE_SYSVSEM

// newThread maps a new slot into the stub and clones a thread on it; it
// returns once the thread has trapped for the first time (its registers
// are those of the stub, to be replaced by the first Switch).
func (as *addressSpace) newThread() (*thread, error) {
	as.mu.Lock()
	if as.released.Load() {
		as.mu.Unlock()
		return nil, errStubGone
	}
	local := -1
	for i, u := range as.used {
		if !u {
			local = i
			break
		}
	}
	if local < 0 {
		if len(as.used) >= stubMaxSlot {
			as.mu.Unlock()
			return nil, fmt.Errorf("stub %d has %d threads already", as.s.PID, stubMaxSlot)
		}
		local = len(as.used)
		as.used = append(as.used, false)
	}
	sl, err := as.p.slots.alloc(local)
	if err != nil {
		as.mu.Unlock()
		return nil, err
	}
	as.used[local] = true
	as.mu.Unlock()

	th := &thread{as: as, sl: sl}
	th.refs.Store(2)
	var tid uintptr
	var ferr error
	if err := as.t.Do(func() {
		_, ferr = as.s.Syscall(unix.SYS_MMAP, sl.stub, slotSize, unix.PROT_READ|unix.PROT_WRITE,
			unix.MAP_SHARED|unix.MAP_FIXED, slotFD, uintptr(sl.idx*slotSize))
		if ferr == nil {
			tid, ferr = as.s.Inject(as.p.img.cloneAddr, as.p.img.cloneParentTrap, sl.stub, nrClone, cloneFlags)
		}
	}); err != nil {
		ferr = err
	}
	if ferr == nil {
		if e := int64(tid); e < 0 {
			ferr = unix.Errno(-e)
		}
	}
	if ferr != nil {
		as.freeSlot(sl)
		return nil, fmt.Errorf("creating a thread in stub %d: %w", as.s.PID, ferr)
	}
	th.tid = int(tid)
	as.mu.Lock()
	as.threads[th] = struct{}{}
	as.mu.Unlock()
	if err := sl.wait(true, th.alive); err != nil {
		th.drop()
		if e := int64(sl.u64(hdrSetupErr)); e < 0 {
			err = fmt.Errorf("stub thread setup: %w", unix.Errno(-e))
		}
		return nil, err
	}
	return th, nil
}

// freeSlot returns a slot whose thread is gone.
func (as *addressSpace) freeSlot(sl *slot) {
	as.mu.Lock()
	if sl.local < len(as.used) {
		as.used[sl.local] = false
	}
	as.mu.Unlock()
	as.p.slots.release(sl)
}

// alive is the liveness check of slot.wait: an error once the address
// space is released or (when probe is set) the host thread is gone.
func (th *thread) alive(probe bool) error {
	if th.as.released.Load() {
		return errStubGone
	}
	if probe && unix.Tgkill(th.as.s.PID, th.tid, 0) != nil {
		return fmt.Errorf("stub thread %d is gone: %w", th.tid, errStubGone)
	}
	return nil
}

// drop ends the thread for its context: it must be trapped (waiting in its
// handler) or dead.
func (th *thread) drop() {
	as := th.as
	as.mu.Lock()
	_, live := as.threads[th]
	delete(as.threads, th)
	as.mu.Unlock()
	if !live {
		th.unref() // release holds the other reference
		return
	}
	th.sl.resume(goExit, false)
	// The thread exits in microseconds; do not wait for a wedged one,
	// whose slot is then lost until the platform closes.
	for i := 0; i <= 1000; i++ {
		if unix.Tgkill(as.s.PID, th.tid, 0) == unix.ESRCH {
			th.unref()
			th.unref()
			return
		}
		if i < 100 {
			runtime.Gosched()
		} else {
			time.Sleep(100 * time.Microsecond)
		}
	}
}

// unref drops one of the two references to the thread's slot (its
// context's and its live address space's); the last frees the slot.
func (th *thread) unref() {
	if th.refs.Add(-1) == 0 {
		th.as.freeSlot(th.sl)
	}
}

// pinTo makes the thread pin itself to cpu when it next resumes.
func (th *thread) pinTo(cpu int) error {
	binary.LittleEndian.PutUint64(th.sl.mem[hdrCPUMask:], uint64(istub.PinMaskAddr(cpu)))
	atomic.StoreUint32(th.sl.word(hdrSetCPU), 1)
	return nil
}

// unpin lets the context thread th run on any CPU. Any goroutine may call
// it: the first thread runs sched_setaffinity for th.
func (as *addressSpace) unpin(th *thread) {
	as.syscall(unix.SYS_SCHED_SETAFFINITY, uintptr(th.tid), istub.AllMaskSize, istub.AllMaskAddr())
}

// syscall runs a host syscall in the stub's first thread.
func (as *addressSpace) syscall(nr uintptr, args ...uintptr) error {
	var err error
	if terr := as.t.Do(func() { _, err = as.s.Syscall(nr, args...) }); terr != nil {
		return terr
	}
	return err
}

// MapFile implements platform.AddressSpace.
func (as *addressSpace) MapFile(addr, length uintptr, off int64, prot int) error {
	if err := checkRange(addr, length); err != nil {
		return err
	}
	err := as.syscall(unix.SYS_MMAP, addr, length, uintptr(prot), unix.MAP_SHARED|unix.MAP_FIXED, stubMemFD, uintptr(off))
	if err != nil {
		return fmt.Errorf("mapping %#x+%#x at file offset %#x in stub %d: %w", addr, length, off, as.s.PID, err)
	}
	return nil
}

// Unmap implements platform.AddressSpace.
func (as *addressSpace) Unmap(addr, length uintptr) error {
	if err := checkRange(addr, length); err != nil {
		return err
	}
	if err := as.syscall(unix.SYS_MUNMAP, addr, length); err != nil {
		return fmt.Errorf("unmapping %#x+%#x in stub %d: %w", addr, length, as.s.PID, err)
	}
	return nil
}

// Protect implements platform.AddressSpace.
func (as *addressSpace) Protect(addr, length uintptr, prot int) error {
	if err := checkRange(addr, length); err != nil {
		return err
	}
	if err := as.syscall(unix.SYS_MPROTECT, addr, length, uintptr(prot)); err != nil {
		return fmt.Errorf("protecting %#x+%#x in stub %d: %w", addr, length, as.s.PID, err)
	}
	return nil
}

// checkRange refuses ranges reaching the stub's own pages: the stub code
// and the slots must stay as they are.
func checkRange(addr, length uintptr) error {
	if end := addr + length; end < addr || end > stubAddr {
		return fmt.Errorf("range %#x+%#x reaches the stub's pages at %#x: %w", addr, length, uintptr(stubAddr), unix.EINVAL)
	}
	return nil
}

// Release implements platform.AddressSpace: it kills and reaps the stub.
func (as *addressSpace) Release() {
	as.release()
	as.p.forget(as)
}

func (as *addressSpace) release() {
	as.once.Do(func() {
		as.released.Store(true)
		as.s.SignalKill()
		as.mu.Lock()
		threads := as.threads
		as.threads = nil
		as.mu.Unlock()
		// Wake Switches waiting on a thread: they see released.
		for th := range threads {
			futex(th.sl.word(hdrEv), futexWake, 1, 0)
		}
		as.t.Do(as.s.Kill)
		as.t.Stop()
		as.s.ClosePidfd()
		// The first thread is reaped only after all others have exited.
		for th := range threads {
			th.unref()
		}
	})
}
