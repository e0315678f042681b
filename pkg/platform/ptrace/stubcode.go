package ptrace

import (
	"encoding/binary"
	"fmt"
)

// Layout of the stub process. The stub is a tiny static ELF executable built
// in memory (no file in the repository) whose single page lives at stubAddr,
// just above the application's range.
const (
	stubAddr  = 0x7fffff000000 // the stub page; also MaxUserAddress
	minUser   = 0x10000        // MinUserAddress (Linux's default mmap_min_addr)
	userTop   = 0x800000000000 // end of the 47-bit user half
	pageSize  = 0x1000
	stubMemFD = 3 // fd of the memory file inside every stub

	elfHeaderSize = 64
	progHdrSize   = 56
	codeOffset    = elfHeaderSize + progHdrSize // code follows the headers
)

// stubImage is the assembled stub: the ELF image and the addresses of its
// entry points for syscall injection.
type stubImage struct {
	elf []byte
	// syscallAddr is a "syscall; int3" pair: set rip here and rax/args, and
	// the stub runs one host syscall and stops with SIGTRAP at trapAfterSyscall.
	syscallAddr uintptr
	// forkAddr is "syscall; test rax,rax; jnz parent": the child stops itself
	// with SIGSTOP, the parent hits int3 and stops with rip = forkParentTrap.
	forkAddr       uintptr
	forkParentTrap uintptr
	// cloneAddr is "syscall; test rax,rax; jnz parent": a new thread loops
	// in pause() until a context's tracer seizes it, the parent hits int3
	// and stops with rip = cloneParentTrap.
	cloneAddr       uintptr
	cloneParentTrap uintptr
}

// trapAfterSyscall is the rip reported after the int3 following syscallAddr.
func (s *stubImage) trapAfterSyscall() uintptr { return s.syscallAddr + 3 }

// asm is a minimal x86-64 assembler for the few instructions the stub needs.
type asm struct{ b []byte }

func (a *asm) pc() uintptr { return stubAddr + codeOffset + uintptr(len(a.b)) }

func (a *asm) emit(b ...byte) { a.b = append(a.b, b...) }

func (a *asm) imm32(v uint32) { a.b = binary.LittleEndian.AppendUint32(a.b, v) }

func (a *asm) imm64(v uint64) { a.b = binary.LittleEndian.AppendUint64(a.b, v) }

func (a *asm) movEAX(v uint32) { a.emit(0xb8); a.imm32(v) }
func (a *asm) movEDI(v uint32) { a.emit(0xbf); a.imm32(v) }
func (a *asm) movESI(v uint32) { a.emit(0xbe); a.imm32(v) }
func (a *asm) movRDI(v uint64) { a.emit(0x48, 0xbf); a.imm64(v) }
func (a *asm) movRSI(v uint64) { a.emit(0x48, 0xbe); a.imm64(v) }
func (a *asm) movR10D(v uint32) {
	a.emit(0x41, 0xba)
	a.imm32(v)
}
func (a *asm) xorEDI()    { a.emit(0x31, 0xff) }
func (a *asm) xorEDX()    { a.emit(0x31, 0xd2) }
func (a *asm) syscall()   { a.emit(0x0f, 0x05) }
func (a *asm) int3()      { a.emit(0xcc) }
func (a *asm) movEDIEAX() { a.emit(0x89, 0xc7) }
func (a *asm) testRAX()   { a.emit(0x48, 0x85, 0xc0) }

// Host syscall numbers used by the stub (x86-64).
const (
	nrRtSigaction   = 13
	nrRtSigprocmask = 14
	nrMunmap        = 11
	nrPause         = 34
	nrClone         = 56
	nrExit          = 60
	nrGetpid        = 39
	nrFork          = 57
	nrKill          = 62
	nrCloseRange    = 436
	sigChld         = 17
	sigStop         = 19
	sigSetmask      = 2
	sigIgn          = 1
)

// buildStub assembles the stub. On start it:
//   - munmaps everything below and above its own page (the host's stack,
//     vdso and vvar go away, leaving the user range empty),
//   - ignores SIGCHLD (so dead children of the master are reaped by the
//     host kernel once their tracer has collected them),
//   - unblocks all signals and closes every fd above the memory file,
//   - stops with int3 to tell the tracer it is ready.
func buildStub() (*stubImage, error) {
	const dataSize = 40 // struct sigaction (32 bytes) + an empty sigset
	var a asm
	// The data block sits at the end of the page-relative code; its address
	// is patched in after assembly, so reserve a fixed layout: code first,
	// data at a known offset.
	const dataOff = 0x300 // well past the code, still in the one page
	data := uint64(stubAddr + dataOff)

	a.movEAX(nrMunmap)
	a.xorEDI()
	a.movRSI(stubAddr)
	a.syscall()
	a.movEAX(nrMunmap)
	a.movRDI(stubAddr + pageSize)
	a.movRSI(userTop - (stubAddr + pageSize))
	a.syscall()
	// rt_sigaction(SIGCHLD, &{SIG_IGN}, NULL, 8)
	a.movEAX(nrRtSigaction)
	a.movEDI(sigChld)
	a.movRSI(data)
	a.xorEDX()
	a.movR10D(8)
	a.syscall()
	// rt_sigprocmask(SIG_SETMASK, &empty, NULL, 8)
	a.movEAX(nrRtSigprocmask)
	a.movEDI(sigSetmask)
	a.movRSI(data + 32)
	a.xorEDX()
	a.movR10D(8)
	a.syscall()
	// close_range(stubMemFD+1, ~0, 0)
	a.movEAX(nrCloseRange)
	a.movEDI(stubMemFD + 1)
	a.movESI(^uint32(0))
	a.xorEDX()
	a.syscall()
	a.int3() // ready

	img := &stubImage{}
	img.syscallAddr = a.pc()
	a.syscall()
	a.int3()

	img.forkAddr = a.pc()
	a.syscall()
	a.testRAX()
	a.emit(0x75, 0) // jnz parent (patched below)
	jnz := len(a.b)
	// child: kill(getpid(), SIGSTOP)
	a.movEAX(nrGetpid)
	a.syscall()
	a.movEDIEAX()
	a.movESI(sigStop)
	a.movEAX(nrKill)
	a.syscall()
	a.int3()
	a.b[jnz-1] = byte(len(a.b) - jnz)
	a.int3() // parent
	img.forkParentTrap = a.pc()

	img.cloneAddr = a.pc()
	a.syscall()
	a.testRAX()
	a.emit(0x75, 0) // jnz parent (patched below)
	jnz = len(a.b)
	loop := a.pc()
	a.movEAX(nrPause)
	a.syscall()
	a.emit(0xeb, byte(int8(int(loop)-int(a.pc()+2)))) // jmp loop
	a.b[jnz-1] = byte(len(a.b) - jnz)
	a.int3() // parent
	img.cloneParentTrap = a.pc()

	code := a.b
	if codeOffset+len(code) > dataOff {
		return nil, fmt.Errorf("stub code (%d bytes) overlaps its data", len(code))
	}
	img.elf = make([]byte, dataOff+dataSize)
	writeELFHeaders(img.elf, uint64(len(img.elf)))
	copy(img.elf[codeOffset:], code)
	binary.LittleEndian.PutUint64(img.elf[dataOff:], sigIgn) // sa_handler; flags, restorer, mask stay 0
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
	le.PutUint64(b[40:], 0)                          // e_shoff
	le.PutUint32(b[48:], 0)                          // e_flags
	le.PutUint16(b[52:], elfHeaderSize)              // e_ehsize
	le.PutUint16(b[54:], progHdrSize)                // e_phentsize
	le.PutUint16(b[56:], 1)                          // e_phnum
	p := b[elfHeaderSize:]
	le.PutUint32(p[0:], 1)         // PT_LOAD
	le.PutUint32(p[4:], 5)         // PF_R|PF_X
	le.PutUint64(p[8:], 0)         // p_offset
	le.PutUint64(p[16:], stubAddr) // p_vaddr
	le.PutUint64(p[24:], stubAddr) // p_paddr
	le.PutUint64(p[32:], size)     // p_filesz
	le.PutUint64(p[40:], pageSize) // p_memsz
	le.PutUint64(p[48:], pageSize) // p_align
}
