package systrap

import (
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"bulwark.dev/pkg/platform"
)

// A slot is the memory one context thread shares with the sandbox: a page
// of header (below), then the thread's signal stack, on which the host
// kernel writes the signal frame (siginfo, ucontext with the registers and
// the XSAVE area) that the sandbox reads and rewrites in place. Slots live
// in the slot file, mapped whole in the sandbox and one slot at a time in
// the stub that owns it.
//
// The application can write its own slot (it is mapped in its address
// space): the sandbox reads nothing from it but register values the
// application controls anyway, and checks every pointer it follows.
const (
	hdrEv       = 0  // u32 futex: 1 when the thread has trapped, else 0 or evSleeping
	hdrGo       = 4  // u32 futex: goResume or goExit from the sandbox, else 0 or goSleeping
	hdrSigno    = 8  // u32 signal number of the trap
	hdrSetFS    = 12 // u32: 1 to set fs_base to hdrFS before resuming
	hdrInfo     = 16 // u64 stub address of the siginfo
	hdrCtx      = 24 // u64 stub address of the ucontext
	hdrFS       = 32 // u64
	hdrSetGS    = 40 // u32
	hdrGS       = 48 // u64
	hdrSetupErr = 56 // u64 -errno of a failed thread setup
	hdrStack    = 64 // stack_t of the signal stack: sp, flags, size
	hdrSetCPU   = 88 // u32: 1 to pin the thread to the CPU set at hdrCPUMask before resuming
	hdrSpins    = 92 // u32: how long the handler spins for a command before sleeping
	hdrCPUMask  = 96 // u64 stub address of a CPU set of istub.PinMaskSize bytes

	evSleeping = 2 // hdrEv: not trapped, and the sandbox sleeps on it
	goResume   = 1
	goExit     = 2
	goSleeping = 3 // hdrGo: no command yet, and the handler sleeps on it

	// Spins before sleeping on a futex when the two sides run on
	// different CPUs: a trap often comes back within microseconds, and a
	// wake-up costs more than that. When they share a CPU (the stub
	// thread is pinned to the sandbox thread's, see istub.Pin), the other
	// side cannot run while one spins, and neither does.
	handlerSpins = 200
	sandboxSpins = 2000

	maxSlots = 4096 // slots in the slot file: context threads at once
)

// Offsets in the signal frame.
const (
	ucMcontext  = 40
	ucFPState   = ucMcontext + 184
	ucSigmask   = ucMcontext + 256
	ucSize      = ucSigmask + 8
	siCode      = 8
	siAddr      = 16
	siginfoSize = 128
)

// mcontextRegs maps the general registers of a struct sigcontext (by
// 8-byte index) to the ptrace register file.
func mcontextRegs(r *platform.Registers) []*uint64 {
	return []*uint64{&r.R8, &r.R9, &r.R10, &r.R11, &r.R12, &r.R13, &r.R14, &r.R15,
		&r.Rdi, &r.Rsi, &r.Rbp, &r.Rbx, &r.Rdx, &r.Rax, &r.Rcx, &r.Rsp, &r.Rip, &r.Eflags}
}

// slotFile is the memfd of all slots and its mapping in the sandbox.
type slotFile struct {
	fd  int
	mem []byte

	mu   sync.Mutex
	free []int // indices of free slots
}

func newSlotFile() (*slotFile, error) {
	fd, err := unix.MemfdCreate("bulwark-systrap", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("creating the slot file: %w", err)
	}
	if err := unix.Ftruncate(fd, maxSlots*slotSize); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("sizing the slot file: %w", err)
	}
	mem, err := unix.Mmap(fd, 0, maxSlots*slotSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("mapping the slot file: %w", err)
	}
	f := &slotFile{fd: fd, mem: mem}
	for i := maxSlots - 1; i >= 0; i-- {
		f.free = append(f.free, i)
	}
	return f, nil
}

// alloc returns a free slot of the file, cleared, for stub slot index
// local (mapped at slotAddr(local) in the stub).
func (f *slotFile) alloc(local int) (*slot, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.free) == 0 {
		return nil, fmt.Errorf("all %d context slots in use", maxSlots)
	}
	i := f.free[len(f.free)-1]
	f.free = f.free[:len(f.free)-1]
	s := &slot{idx: i, mem: f.mem[i*slotSize : (i+1)*slotSize : (i+1)*slotSize], stub: slotAddr(local), local: local}
	clear(s.mem[:pageSize])
	le := binary.LittleEndian
	le.PutUint64(s.mem[hdrStack:], uint64(s.stub+pageSize))
	le.PutUint64(s.mem[hdrStack+16:], slotSize-pageSize)
	return s, nil
}

// release returns s to the file; its thread must be gone.
func (f *slotFile) release(s *slot) {
	f.mu.Lock()
	f.free = append(f.free, s.idx)
	f.mu.Unlock()
}

// slot is one context thread's shared memory.
type slot struct {
	idx   int     // in the slot file
	local int     // slot index in the stub
	mem   []byte  // the sandbox's mapping
	stub  uintptr // address in the stub
}

func (s *slot) word(off int) *uint32 { return (*uint32)(unsafe.Pointer(&s.mem[off])) }

func (s *slot) u64(off int) uint64 { return binary.LittleEndian.Uint64(s.mem[off:]) }

// frame returns the slot offset of a stub pointer stored at hdr, checking
// that size bytes there lie in the signal stack.
func (s *slot) frame(hdr int, size uintptr) (int, error) {
	p := uintptr(s.u64(hdr))
	if p < s.stub+pageSize || p > s.stub+slotSize-size {
		return 0, fmt.Errorf("stub thread reported a frame at %#x outside its slot %#x", p, s.stub)
	}
	return int(p - s.stub), nil
}

// futex makes a FUTEX_WAIT (with timeout) or FUTEX_WAKE on a slot word.
// The futex is shared (no FUTEX_PRIVATE_FLAG): the stub maps the same page.
func futex(w *uint32, op int, val uint32, timeout time.Duration) unix.Errno {
	var tsp unsafe.Pointer
	var ts unix.Timespec
	if timeout > 0 {
		ts = unix.NsecToTimespec(int64(timeout))
		tsp = unsafe.Pointer(&ts)
	}
	_, _, e := unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(w)), uintptr(op), uintptr(val), uintptr(tsp), 0, 0)
	return e
}

// resume tells the trapped thread to go on (goResume) or exit (goExit).
// Before its next trap's command it spins as long as spin says.
func (s *slot) resume(cmd uint32, spin bool) {
	atomic.StoreUint32(s.word(hdrSpins), spinsIf(spin, handlerSpins))
	atomic.StoreUint32(s.word(hdrEv), 0)
	if atomic.SwapUint32(s.word(hdrGo), cmd) == goSleeping {
		futex(s.word(hdrGo), futexWake, 1, 0)
	}
}

// livenessPeriod is how often a waiting Switch checks that its thread is
// still alive.
const livenessPeriod = 100 * time.Millisecond

// spinsIf is n if spin, else 0.
func spinsIf(spin bool, n uint32) uint32 {
	if spin {
		return n
	}
	return 0
}

// wait waits until the thread traps, spinning first if spin says.
// alive is called after every wake-up, with probe set every
// livenessPeriod (when it should check the host thread itself), and ends
// the wait with its error.
func (s *slot) wait(spin bool, alive func(probe bool) error) error {
	ev := s.word(hdrEv)
	for i := uint32(0); i < spinsIf(spin, sandboxSpins); i++ {
		if atomic.LoadUint32(ev) == 1 {
			return nil
		}
	}
	for {
		if !atomic.CompareAndSwapUint32(ev, 0, evSleeping) && atomic.LoadUint32(ev) == 1 {
			return nil
		}
		e := futex(ev, futexWait, evSleeping, livenessPeriod)
		if atomic.LoadUint32(ev) == 1 {
			return nil
		}
		if err := alive(e == unix.ETIMEDOUT); err != nil {
			return err
		}
	}
}
