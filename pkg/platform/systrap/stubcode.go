package systrap

import (
	"encoding/binary"
	"fmt"
)

// Layout of a stub process. The stub is a tiny static ELF executable built
// in memory whose single page lives at stubAddr, just above the
// application's range; each context thread's slot (its shared header and
// signal stack, see slot.go) is mapped above it at slotAddr(i).
const (
	stubAddr  = 0x7fffff000000 // the stub code page; also MaxUserAddress
	minUser   = 0x10000        // MinUserAddress (Linux's default mmap_min_addr)
	userTop   = 0x800000000000 // end of the 47-bit user half
	pageSize  = 0x1000
	stubMemFD = 3 // fd of the kernel's memory file inside every stub
	slotFD    = 4 // fd of the slot file inside every stub

	slotSize    = 0x8000             // one context thread's slot; a power of two
	slotsBase   = stubAddr + 0x10000 // first slot in a stub, slotSize aligned
	stubMaxSlot = (userTop - slotsBase) / slotSize

	elfHeaderSize = 64
	progHdrSize   = 56
	codeOffset    = elfHeaderSize + progHdrSize // code follows the headers
	dataOff       = 0xa00                       // the data block, after the code
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

// asm is a minimal x86-64 assembler for the instructions the stub needs.
// rbx holds the slot address in thread code.
type asm struct{ b []byte }

func (a *asm) pc() uintptr                 { return stubAddr + codeOffset + uintptr(len(a.b)) }
func (a *asm) emit(b ...byte)              { a.b = append(a.b, b...) }
func (a *asm) imm32(v uint32)              { a.b = binary.LittleEndian.AppendUint32(a.b, v) }
func (a *asm) imm64(v uint64)              { a.b = binary.LittleEndian.AppendUint64(a.b, v) }
func (a *asm) movEAX(v uint32)             { a.emit(0xb8); a.imm32(v) }
func (a *asm) movEDI(v uint32)             { a.emit(0xbf); a.imm32(v) }
func (a *asm) movESI(v uint32)             { a.emit(0xbe); a.imm32(v) }
func (a *asm) movEDX(v uint32)             { a.emit(0xba); a.imm32(v) }
func (a *asm) movR10D(v uint32)            { a.emit(0x41, 0xba); a.imm32(v) }
func (a *asm) movRDI(v uint64)             { a.emit(0x48, 0xbf); a.imm64(v) }
func (a *asm) movRSI(v uint64)             { a.emit(0x48, 0xbe); a.imm64(v) }
func (a *asm) movRDX(v uint64)             { a.emit(0x48, 0xba); a.imm64(v) }
func (a *asm) xorEDI()                     { a.emit(0x31, 0xff) }
func (a *asm) xorESI()                     { a.emit(0x31, 0xf6) }
func (a *asm) xorEDX()                     { a.emit(0x31, 0xd2) }
func (a *asm) xorR10D()                    { a.emit(0x45, 0x31, 0xd2) }
func (a *asm) syscall()                    { a.emit(0x0f, 0x05) }
func (a *asm) int3()                       { a.emit(0xcc) }
func (a *asm) ret()                        { a.emit(0xc3) }
func (a *asm) movEDIEAX()                  { a.emit(0x89, 0xc7) }
func (a *asm) testRAX()                    { a.emit(0x48, 0x85, 0xc0) }
func (a *asm) testEAX()                    { a.emit(0x85, 0xc0) }
func (a *asm) cmpEAX(v int8)               { a.emit(0x83, 0xf8, byte(v)) }
func (a *asm) movRAXRSP()                  { a.emit(0x48, 0x89, 0xe0) }
func (a *asm) andRAX(v int32)              { a.emit(0x48, 0x25); a.imm32(uint32(v)) }
func (a *asm) movRBXRAX()                  { a.emit(0x48, 0x89, 0xc3) }
func (a *asm) storeEDI(off uint8)          { a.emit(0x89, 0x7b, off) }             // mov [rbx+off], edi
func (a *asm) storeRSI(off uint8)          { a.emit(0x48, 0x89, 0x73, off) }       // mov [rbx+off], rsi
func (a *asm) storeRDX(off uint8)          { a.emit(0x48, 0x89, 0x53, off) }       // mov [rbx+off], rdx
func (a *asm) storeRAX(off uint8)          { a.emit(0x48, 0x89, 0x43, off) }       // mov [rbx+off], rax
func (a *asm) loadEAX(off uint8)           { a.emit(0x8b, 0x43, off) }             // mov eax, [rbx+off]
func (a *asm) loadRSI(off uint8)           { a.emit(0x48, 0x8b, 0x73, off) }       // mov rsi, [rbx+off]
func (a *asm) leaRDI(off uint8)            { a.emit(0x48, 0x8d, 0x7b, off) }       // lea rdi, [rbx+off]
func (a *asm) store32(off uint8, v uint32) { a.emit(0xc7, 0x43, off); a.imm32(v) } // mov dword [rbx+off], v

// jcc8 emits a short conditional (or unconditional, op 0xeb) jump and
// returns the position of its displacement for patch8.
func (a *asm) jcc8(op byte) int { a.emit(op, 0); return len(a.b) }

// patch8 points the short jump whose displacement ends at pos here.
func (a *asm) patch8(pos int) error {
	d := len(a.b) - pos
	if d > 127 {
		return fmt.Errorf("stub: short jump of %d bytes", d)
	}
	a.b[pos-1] = byte(d)
	return nil
}

// jccBack8 emits a short conditional jump back to target.
func (a *asm) jccBack8(op byte, target uintptr) { a.emit(op, byte(int8(int(target)-int(a.pc()+2)))) }

func (a *asm) movECX(v uint32) { a.emit(0xb9); a.imm32(v) }
func (a *asm) decECX()         { a.emit(0xff, 0xc9) }
func (a *asm) pause()          { a.emit(0xf3, 0x90) }
func (a *asm) xchgEV()         { a.emit(0x87, 0x43, hdrEv) }             // xchg [rbx+ev], eax
func (a *asm) cmpxchgGo()      { a.emit(0xf0, 0x0f, 0xb1, 0x53, hdrGo) } // lock cmpxchg [rbx+go], edx

// jmpBack8 emits a short jump back to target.
func (a *asm) jmpBack8(target uintptr) { a.emit(0xeb, byte(int8(int(target)-int(a.pc()+2)))) }

// Host syscall numbers and values used by the stub (x86-64).
const (
	nrMunmap        = 11
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
	nrSeccomp       = 317
	nrCloseRange    = 436

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

	a.movEAX(nrMunmap)
	a.xorEDI()
	a.movRSI(stubAddr)
	a.syscall()
	a.movEAX(nrMunmap)
	a.movRDI(stubAddr + pageSize)
	a.movRSI(userTop - (stubAddr + pageSize))
	a.syscall()
	a.movEAX(nrRtSigaction)
	a.movEDI(sigChld)
	a.movRSI(data + dataIgn)
	a.xorEDX()
	a.movR10D(8)
	a.syscall()
	for _, sig := range trapSignals {
		a.movEAX(nrRtSigaction)
		a.movEDI(sig)
		a.movRSI(data + dataAct)
		a.xorEDX()
		a.movR10D(8)
		a.syscall()
	}
	a.movEAX(nrRtSigprocmask)
	a.movEDI(sigSetmask)
	a.movRSI(data + dataEmpty)
	a.xorEDX()
	a.movR10D(8)
	a.syscall()
	a.movEAX(nrCloseRange)
	a.movEDI(slotFD + 1)
	a.movESI(^uint32(0))
	a.xorEDX()
	a.syscall()
	a.movEAX(nrPrctl)
	a.movEDI(prSetNoNewPrivs)
	a.movESI(1)
	a.xorEDX()
	a.xorR10D()
	a.syscall()
	a.int3() // ready

	img := &stubImage{}
	img.syscallAddr = a.pc()
	a.syscall()
	a.int3()

	img.forkAddr = a.pc()
	a.syscall()
	a.testRAX()
	jnz := a.jcc8(0x75) // jnz parent
	// The child pauses until its tracer seizes and interrupts it. (A
	// SIGSTOP would leave a group stop that threads cloned later join.)
	loop := a.pc()
	a.movEAX(nrPause)
	a.syscall()
	a.jmpBack8(loop)
	if err := a.patch8(jnz); err != nil {
		return nil, err
	}
	a.int3() // parent
	img.forkParentTrap = a.pc()

	// clone: the child (rax 0) sets up its thread, the parent traps.
	img.cloneAddr = a.pc()
	a.syscall()
	a.testRAX()
	jz := a.jcc8(0x74) // jz child
	a.int3()           // parent
	img.cloneParentTrap = a.pc()
	if err := a.patch8(jz); err != nil {
		return nil, err
	}
	// Child, rbx = its slot: sigaltstack(&slot.stack, NULL), then the
	// filter, then the first trap. On failure it records rax and exits.
	a.movEAX(nrSigaltstack)
	a.leaRDI(hdrStack)
	a.xorESI()
	a.syscall()
	a.testRAX()
	fail1 := a.jcc8(0x75)
	a.movEAX(nrSeccomp)
	a.movEDI(seccompSetModeFilter)
	a.xorESI()
	a.movRDX(data + dataFprog)
	a.syscall()
	a.testRAX()
	fail2 := a.jcc8(0x75)
	a.movEAX(nrGetpid)
	a.emit(0xe9, 0, 0, 0, 0) // jmp trapAddr (patched once it is known)
	toTrap := len(a.b)
	if err := a.patch8(fail1); err != nil {
		return nil, err
	}
	if err := a.patch8(fail2); err != nil {
		return nil, err
	}
	a.storeRAX(hdrSetupErr)
	a.movEAX(nrExit)
	a.xorEDI()
	a.syscall()

	// The signal handler: rdi = signo, rsi = siginfo, rdx = ucontext, on
	// the thread's signal stack inside its slot, all signals blocked.
	handler := a.pc()
	a.movRAXRSP()
	a.andRAX(-slotSize)
	a.movRBXRAX()
	a.storeEDI(hdrSigno)
	a.storeRSI(hdrInfo)
	a.storeRDX(hdrCtx)
	// Publish the trap: go = 0, then ev = 1, waking the sandbox only if
	// it sleeps (ev was evSleeping).
	a.store32(hdrGo, 0)
	a.movEAX(1)
	a.xchgEV()
	a.cmpEAX(evSleeping)
	noWake := a.jcc8(0x75) // jne
	a.movEAX(nrFutex)
	a.leaRDI(hdrEv)
	a.movESI(futexWake)
	a.movEDX(1)
	a.syscall()
	if err := a.patch8(noWake); err != nil {
		return nil, err
	}
	// Wait for go: spin a little, then mark go goSleeping and sleep
	// until the sandbox replaces it with a command.
	wait := a.pc()
	a.movECX(handlerSpins)
	spin := a.pc()
	a.loadEAX(hdrGo)
	a.testEAX()
	check := a.jcc8(0x75) // jnz check
	a.pause()
	a.decECX()
	a.jccBack8(0x75, spin)
	a.emit(0x31, 0xc0) // xor eax, eax
	a.movEDX(goSleeping)
	a.cmpxchgGo() // go 0 -> goSleeping, or eax = go
	check2 := a.jcc8(0x75)
	sleep := a.pc()
	a.movEAX(nrFutex)
	a.leaRDI(hdrGo)
	a.xorESI() // FUTEX_WAIT
	a.movEDX(goSleeping)
	a.xorR10D()
	a.syscall()
	a.jmpBack8(wait)
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
		a.movEDI(seg.code)
		a.loadRSI(seg.val)
		a.movEAX(nrArchPrctl)
		a.syscall()
		if err := a.patch8(skip); err != nil {
			return nil, err
		}
	}
	a.ret() // to the restorer, at the top of the frame
	if err := a.patch8(exit); err != nil {
		return nil, err
	}
	a.movEAX(nrExit)
	a.xorEDI()
	a.syscall()
	restorer := a.pc()
	a.movEAX(nrRtSigreturn)
	a.syscall()
	a.int3()

	// Syscalls from here on (and from anywhere outside the stub) trap.
	for len(a.b)%16 != 0 {
		a.int3()
	}
	img.trapAddr = a.pc()
	binary.LittleEndian.PutUint32(a.b[toTrap-4:], uint32(len(a.b)-toTrap))
	a.syscall()
	a.int3()

	code := a.b
	if codeOffset+len(code) > dataOff {
		return nil, fmt.Errorf("stub code (%d bytes) overlaps its data", len(code))
	}
	prog, err := threadFilter(img.trapAddr)
	if err != nil {
		return nil, err
	}
	img.elf = make([]byte, dataOff+dataFilter+len(prog))
	if len(img.elf) > pageSize {
		return nil, fmt.Errorf("stub image is %d bytes, more than a page", len(img.elf))
	}
	writeELFHeaders(img.elf, uint64(len(img.elf)))
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
	return img, nil
}

// writeELFHeaders writes an ELF64 header and one PT_LOAD program header that
// maps the whole image read+exec at stubAddr.
func writeELFHeaders(b []byte, size uint64) {
	le := binary.LittleEndian
	copy(b, []byte{0x7f, 'E', 'L', 'F', 2, 1, 1, 0}) // ELFCLASS64, LSB, version 1, SYSV
	le.PutUint16(b[16:], 2)                          // ET_EXEC
	le.PutUint16(b[18:], 62)                         // EM_X86_64
	le.PutUint32(b[20:], 1)                          // EV_CURRENT
	le.PutUint64(b[24:], stubAddr+codeOffset)        // e_entry
	le.PutUint64(b[32:], elfHeaderSize)              // e_phoff
	le.PutUint16(b[52:], elfHeaderSize)              // e_ehsize
	le.PutUint16(b[54:], progHdrSize)                // e_phentsize
	le.PutUint16(b[56:], 1)                          // e_phnum
	p := b[elfHeaderSize:]
	le.PutUint32(p[0:], 1)         // PT_LOAD
	le.PutUint32(p[4:], 5)         // PF_R|PF_X
	le.PutUint64(p[16:], stubAddr) // p_vaddr
	le.PutUint64(p[24:], stubAddr) // p_paddr
	le.PutUint64(p[32:], size)     // p_filesz
	le.PutUint64(p[40:], pageSize) // p_memsz
	le.PutUint64(p[48:], pageSize) // p_align
}
