package systrap

import (
	"encoding/binary"
	"fmt"

	istub "bulwark.dev/pkg/platform/internal/stub"
)

// Layout of a stub process. The stub is a tiny static ELF executable built
// in memory whose single page lives at stubAddr, just above the
// application's range; each context thread's slot (its shared header and
// signal stack, see slot.go) is mapped above it at slotAddr(i).
const (
	stubAddr   = istub.Addr
	minUser    = istub.MinUser
	userTop    = istub.UserTop
	pageSize   = istub.PageSize
	stubMemFD  = istub.MemFD
	slotFD     = 4 // fd of the slot file inside every stub
	codeOffset = istub.CodeOffset

	slotSize    = 0x8000             // one context thread's slot; a power of two
	slotsBase   = stubAddr + 0x10000 // first slot in a stub, slotSize aligned
	stubMaxSlot = (userTop - slotsBase) / slotSize

	dataOff = 0xa00 // the data block, after the code
)

// slotAddr is the address of a stub's i-th slot.
func slotAddr(i int) uintptr { return slotsBase + uintptr(i)*slotSize }

// stubImage is the assembled stub: the ELF image and its entry points.
type stubImage struct {
	elf []byte
	// syscallAddr is a "syscall; int3" pair for injections into the
	// first thread (never filtered).
	syscallAddr uintptr
	// forkAddr: the child of the fork loops in pause() until seized, the
	// parent hits int3 and stops with rip = forkParentTrap.
	forkAddr       uintptr
	forkParentTrap uintptr
	// cloneAddr: the new thread (rbx = its slot) sets up its signal stack
	// and seccomp filter and traps into its handler; the parent hits int3
	// and stops with rip = cloneParentTrap.
	cloneAddr       uintptr
	cloneParentTrap uintptr
	// trapAddr is the end of the code whose syscalls the filter lets
	// through (a few of them): syscalls from anywhere else raise SIGSYS.
	trapAddr uintptr
}

// trapAfterSyscall is the rip reported after the int3 following syscallAddr.
func (s *stubImage) trapAfterSyscall() uintptr { return s.syscallAddr + 3 }

// asm extends the shared assembler with the instructions only this stub
// needs. rbx holds the slot address in thread code.
type asm struct{ istub.Asm }

func (a *asm) movEDX(v uint32)             { a.Emit(0xba); a.Imm32(v) }
func (a *asm) movRDX(v uint64)             { a.Emit(0x48, 0xba); a.Imm64(v) }
func (a *asm) xorESI()                     { a.Emit(0x31, 0xf6) }
func (a *asm) xorR10D()                    { a.Emit(0x45, 0x31, 0xd2) }
func (a *asm) ret()                        { a.Emit(0xc3) }
func (a *asm) testEAX()                    { a.Emit(0x85, 0xc0) }
func (a *asm) cmpEAX(v int8)               { a.Emit(0x83, 0xf8, byte(v)) }
func (a *asm) movRAXRSP()                  { a.Emit(0x48, 0x89, 0xe0) }
func (a *asm) andRAX(v int32)              { a.Emit(0x48, 0x25); a.Imm32(uint32(v)) }
func (a *asm) movRBXRAX()                  { a.Emit(0x48, 0x89, 0xc3) }
func (a *asm) storeEDI(off uint8)          { a.Emit(0x89, 0x7b, off) }             // mov [rbx+off], edi
func (a *asm) storeRSI(off uint8)          { a.Emit(0x48, 0x89, 0x73, off) }       // mov [rbx+off], rsi
func (a *asm) storeRDX(off uint8)          { a.Emit(0x48, 0x89, 0x53, off) }       // mov [rbx+off], rdx
func (a *asm) storeRAX(off uint8)          { a.Emit(0x48, 0x89, 0x43, off) }       // mov [rbx+off], rax
func (a *asm) loadEAX(off uint8)           { a.Emit(0x8b, 0x43, off) }             // mov eax, [rbx+off]
func (a *asm) loadRSI(off uint8)           { a.Emit(0x48, 0x8b, 0x73, off) }       // mov rsi, [rbx+off]
func (a *asm) loadRDX(off uint8)           { a.Emit(0x48, 0x8b, 0x53, off) }       // mov rdx, [rbx+off]
func (a *asm) leaRDI(off uint8)            { a.Emit(0x48, 0x8d, 0x7b, off) }       // lea rdi, [rbx+off]
func (a *asm) store32(off uint8, v uint32) { a.Emit(0xc7, 0x43, off); a.Imm32(v) } // mov dword [rbx+off], v

// jcc8 emits a short conditional (or unconditional, op 0xeb) jump and
// returns the position of its displacement for patch8.
func (a *asm) jcc8(op byte) int { a.Emit(op, 0); return len(a.B) }

// patch8 points the short jump whose displacement ends at pos here.
func (a *asm) patch8(pos int) error {
	d := len(a.B) - pos
	if d > 127 {
		return fmt.Errorf("stub: short jump of %d bytes", d)
	}
	a.B[pos-1] = byte(d)
	return nil
}

// jccBack8 emits a short conditional jump back to target.
func (a *asm) jccBack8(op byte, target uintptr) { a.Emit(op, byte(int8(int(target)-int(a.PC()+2)))) }

func (a *asm) decECX()           { a.Emit(0xff, 0xc9) }
func (a *asm) incECX()           { a.Emit(0xff, 0xc1) }
func (a *asm) loadECX(off uint8) { a.Emit(0x8b, 0x4b, off) } // mov ecx, [rbx+off]
func (a *asm) pause()            { a.Emit(0xf3, 0x90) }
func (a *asm) xchgEV()           { a.Emit(0x87, 0x43, hdrEv) }             // xchg [rbx+ev], eax
func (a *asm) cmpxchgGo()        { a.Emit(0xf0, 0x0f, 0xb1, 0x53, hdrGo) } // lock cmpxchg [rbx+go], edx

// Host syscall numbers and values used by the stub (x86-64).
const (
	nrRtSigaction   = 13
	nrRtSigprocmask = 14
	nrRtSigreturn   = 15
	nrPause         = 34
	nrGetpid        = 39
	nrClone         = 56
	nrFork          = 57
	nrExit          = 60
	nrSigaltstack   = 131
	nrPrctl         = 157
	nrArchPrctl     = 158
	nrFutex         = 202
	nrSchedSetaff   = 203
	nrSeccomp       = 317

	sigTrap              = 5
	sigChld              = 17
	sigStop              = 19
	sigSetmask           = 2
	sigIgn               = 1
	prSetNoNewPrivs      = 38
	archSetGS            = 0x1001
	archSetFS            = 0x1002
	futexWait            = 0
	futexWake            = 1
	seccompSetModeFilter = 1

	saSiginfo  = 0x4
	saOnstack  = 0x08000000
	saRestorer = 0x04000000
)

// trapSignals are the signals the stub's handler reports to the sandbox:
// syscalls (SIGSYS from the filter), faults, and interrupts.
var trapSignals = []uint32{31 /* SIGSYS */, 11 /* SIGSEGV */, 7 /* SIGBUS */, 8 /* SIGFPE */, 4 /* SIGILL */, sigTrap, interruptSignal}

// Offsets in the data block.
const (
	dataIgn    = 0  // struct sigaction {SIG_IGN}
	dataAct    = 32 // struct sigaction for the trap handler
	dataEmpty  = 64 // an empty sigset
	dataFprog  = 72 // struct sock_fprog {len, filter}
	dataFilter = 88 // the BPF program
)

// buildStub assembles the stub. On start it:
//   - munmaps everything but its own page (the host's stack, vdso and
//     vvar go away, leaving the user range empty),
//   - ignores SIGCHLD (dead forks of the master are reaped by the host
//     kernel once their tracer has collected them), installs the trap
//     handler for trapSignals, unblocks all signals, closes every fd above
//     the slot file and sets no_new_privs (for the threads' filters),
//   - stops with int3 to tell the tracer it is ready.
func buildStub() (*stubImage, error) {
	var a asm
	data := uint64(stubAddr + dataOff)

	a.UnmapAllButStub()
	a.SigCall(nrRtSigaction, sigChld, data+dataIgn)
	for _, sig := range trapSignals {
		a.SigCall(nrRtSigaction, sig, data+dataAct)
	}
	a.SigCall(nrRtSigprocmask, sigSetmask, data+dataEmpty)
	a.CloseFrom(slotFD + 1)
	a.MovEAX(nrPrctl)
	a.MovEDI(prSetNoNewPrivs)
	a.MovESI(1)
	a.XorEDX()
	a.xorR10D()
	a.Syscall()
	a.Int3() // ready

	img := &stubImage{}
	img.syscallAddr = a.PC()
	a.Syscall()
	a.Int3()

	img.forkAddr = a.PC()
	a.Syscall()
	a.TestRAX()
	jnz := a.jcc8(0x75) // jnz parent
	// The child pauses until its tracer seizes and interrupts it. (A
	// SIGSTOP would leave a group stop that threads cloned later join.)
	loop := a.PC()
	a.MovEAX(nrPause)
	a.Syscall()
	a.JmpBack8(loop)
	if err := a.patch8(jnz); err != nil {
		return nil, err
	}
	a.Int3() // parent
	img.forkParentTrap = a.PC()

	// clone: the child (rax 0) sets up its thread, the parent traps.
	img.cloneAddr = a.PC()
	a.Syscall()
	a.TestRAX()
	jz := a.jcc8(0x74) // jz child
	a.Int3()           // parent
	img.cloneParentTrap = a.PC()
	if err := a.patch8(jz); err != nil {
		return nil, err
	}
	// Child, rbx = its slot: sigaltstack(&slot.stack, NULL), then the
	// filter, then the first trap. On failure it records rax and exits.
	a.MovEAX(nrSigaltstack)
	a.leaRDI(hdrStack)
	a.xorESI()
	a.Syscall()
	a.TestRAX()
	fail1 := a.jcc8(0x75)
	a.MovEAX(nrSeccomp)
	a.MovEDI(seccompSetModeFilter)
	a.xorESI()
	a.movRDX(data + dataFprog)
	a.Syscall()
	a.TestRAX()
	fail2 := a.jcc8(0x75)
	a.MovEAX(nrGetpid)
	a.Emit(0xe9, 0, 0, 0, 0) // jmp trapAddr (patched once it is known)
	toTrap := len(a.B)
	if err := a.patch8(fail1); err != nil {
		return nil, err
	}
	if err := a.patch8(fail2); err != nil {
		return nil, err
	}
	a.storeRAX(hdrSetupErr)
	a.MovEAX(nrExit)
	a.XorEDI()
	a.Syscall()

	// The signal handler: rdi = signo, rsi = siginfo, rdx = ucontext, on
	// the thread's signal stack inside its slot, all signals blocked.
	handler := a.PC()
	a.movRAXRSP()
	a.andRAX(-slotSize)
	a.movRBXRAX()
	a.storeEDI(hdrSigno)
	a.storeRSI(hdrInfo)
	a.storeRDX(hdrCtx)
	// Publish the trap: go = 0, then ev = 1, waking the sandbox only if
	// it sleeps (ev was evSleeping).
	a.store32(hdrGo, 0)
	a.MovEAX(1)
	a.xchgEV()
	a.cmpEAX(evSleeping)
	noWake := a.jcc8(0x75) // jne
	a.MovEAX(nrFutex)
	a.leaRDI(hdrEv)
	a.MovESI(futexWake)
	a.movEDX(1)
	a.Syscall()
	if err := a.patch8(noWake); err != nil {
		return nil, err
	}
	// Wait for go: spin a little, then mark go goSleeping and sleep
	// until the sandbox replaces it with a command.
	wait := a.PC()
	a.loadECX(hdrSpins)
	a.incECX() // one look at go when told not to spin
	spin := a.PC()
	a.loadEAX(hdrGo)
	a.testEAX()
	check := a.jcc8(0x75) // jnz check
	a.pause()
	a.decECX()
	a.jccBack8(0x75, spin)
	a.Emit(0x31, 0xc0) // xor eax, eax
	a.movEDX(goSleeping)
	a.cmpxchgGo() // go 0 -> goSleeping, or eax = go
	check2 := a.jcc8(0x75)
	sleep := a.PC()
	a.MovEAX(nrFutex)
	a.leaRDI(hdrGo)
	a.xorESI() // FUTEX_WAIT
	a.movEDX(goSleeping)
	a.xorR10D()
	a.Syscall()
	a.JmpBack8(wait)
	if err := a.patch8(check); err != nil {
		return nil, err
	}
	if err := a.patch8(check2); err != nil {
		return nil, err
	}
	a.cmpEAX(goSleeping)
	a.jccBack8(0x74, sleep) // still ours: a spurious wake-up
	a.cmpEAX(goExit)
	exit := a.jcc8(0x74) // je exit
	for _, seg := range []struct {
		flag, val uint8
		code      uint32
	}{{hdrSetFS, hdrFS, archSetFS}, {hdrSetGS, hdrGS, archSetGS}} {
		a.loadEAX(seg.flag)
		a.testEAX()
		skip := a.jcc8(0x74)
		a.store32(seg.flag, 0)
		a.MovEDI(seg.code)
		a.loadRSI(seg.val)
		a.MovEAX(nrArchPrctl)
		a.Syscall()
		if err := a.patch8(skip); err != nil {
			return nil, err
		}
	}
	// sched_setaffinity(0, PinMaskSize, [rbx+hdrCPUMask]) when asked.
	a.loadEAX(hdrSetCPU)
	a.testEAX()
	skipPin := a.jcc8(0x74)
	a.store32(hdrSetCPU, 0)
	a.XorEDI()
	a.MovESI(istub.PinMaskSize)
	a.loadRDX(hdrCPUMask)
	a.MovEAX(nrSchedSetaff)
	a.Syscall()
	if err := a.patch8(skipPin); err != nil {
		return nil, err
	}
	a.ret() // to the restorer, at the top of the frame
	if err := a.patch8(exit); err != nil {
		return nil, err
	}
	a.MovEAX(nrExit)
	a.XorEDI()
	a.Syscall()
	restorer := a.PC()
	a.MovEAX(nrRtSigreturn)
	a.Syscall()
	a.Int3()

	// Syscalls from here on (and from anywhere outside the stub) trap.
	for len(a.B)%16 != 0 {
		a.Int3()
	}
	img.trapAddr = a.PC()
	binary.LittleEndian.PutUint32(a.B[toTrap-4:], uint32(len(a.B)-toTrap))
	a.Syscall()
	a.Int3()

	code := a.B
	if codeOffset+len(code) > dataOff {
		return nil, fmt.Errorf("stub code (%d bytes) overlaps its data", len(code))
	}
	prog, err := threadFilter(img.trapAddr)
	if err != nil {
		return nil, err
	}
	if dataOff+dataFilter+len(prog) > istub.PinMasksOffset {
		return nil, fmt.Errorf("stub data (%d bytes) overlaps the CPU sets", dataFilter+len(prog))
	}
	img.elf = make([]byte, istub.PinMasksEnd)
	istub.WriteELFHeaders(img.elf, uint64(len(img.elf)))
	copy(img.elf[codeOffset:], code)
	le := binary.LittleEndian
	d := img.elf[dataOff:]
	le.PutUint64(d[dataIgn:], sigIgn)
	le.PutUint64(d[dataAct:], uint64(handler))
	le.PutUint64(d[dataAct+8:], saSiginfo|saOnstack|saRestorer)
	le.PutUint64(d[dataAct+16:], uint64(restorer))
	le.PutUint64(d[dataAct+24:], ^uint64(0)) // block everything in the handler
	le.PutUint16(d[dataFprog:], uint16(len(prog)/8))
	le.PutUint64(d[dataFprog+8:], data+dataFilter)
	copy(d[dataFilter:], prog)
	istub.WritePinMasks(img.elf)
	return img, nil
}
