package ptrace

import (
	"encoding/binary"
	"fmt"

	istub "bulwark.dev/pkg/platform/internal/stub"
)

// Layout of the stub process: see package stub.
const (
	stubAddr   = istub.Addr
	minUser    = istub.MinUser
	userTop    = istub.UserTop
	pageSize   = istub.PageSize
	stubMemFD  = istub.MemFD
	codeOffset = istub.CodeOffset
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
	// batchAddr runs rbx host syscalls, read from the batch area at
	// batchOpsAddr (batchOpSize bytes each: nr and six arguments), and
	// stops with int3 at batchTrap after the last one or the first that
	// fails, with that one's result in rax.
	batchAddr uintptr
	batchTrap uintptr
}

// The batch area of the stub page, between its data and the CPU sets.
const (
	batchOff     = 0x400
	batchOpsAddr = stubAddr + batchOff
	batchOpSize  = 7 * 8
	maxBatch     = (istub.PinMasksOffset - batchOff) / batchOpSize
)

// trapAfterSyscall is the rip reported after the int3 following syscallAddr.
func (s *stubImage) trapAfterSyscall() uintptr { return s.syscallAddr + 3 }

// Host syscall numbers used by the stub (x86-64).
const (
	nrRtSigaction   = 13
	nrRtSigprocmask = 14
	nrPause         = 34
	nrClone         = 56
	nrExit          = 60
	nrGetpid        = 39
	nrFork          = 57
	nrKill          = 62
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
	var a istub.Asm
	// The data block sits at the end of the page-relative code; its address
	// is patched in after assembly, so reserve a fixed layout: code first,
	// data at a known offset.
	const dataOff = 0x300 // well past the code, still in the one page
	data := uint64(stubAddr + dataOff)

	a.UnmapAllButStub()
	a.SigCall(nrRtSigaction, sigChld, data)         // SIGCHLD: SIG_IGN
	a.SigCall(nrRtSigprocmask, sigSetmask, data+32) // block nothing
	a.CloseFrom(stubMemFD + 1)
	a.Int3() // ready

	img := &stubImage{}
	img.syscallAddr = a.PC()
	a.Syscall()
	a.Int3()

	img.forkAddr = a.PC()
	a.Syscall()
	a.TestRAX()
	a.Emit(0x75, 0) // jnz parent (patched below)
	jnz := len(a.B)
	// child: kill(getpid(), SIGSTOP)
	a.MovEAX(nrGetpid)
	a.Syscall()
	a.MovEDIEAX()
	a.MovESI(sigStop)
	a.MovEAX(nrKill)
	a.Syscall()
	a.Int3()
	a.B[jnz-1] = byte(len(a.B) - jnz)
	a.Int3() // parent
	img.forkParentTrap = a.PC()

	img.cloneAddr = a.PC()
	a.Syscall()
	a.TestRAX()
	a.Emit(0x75, 0) // jnz parent (patched below)
	jnz = len(a.B)
	loop := a.PC()
	a.MovEAX(nrPause)
	a.Syscall()
	a.Emit(0xeb, byte(int8(int(loop)-int(a.PC()+2)))) // jmp loop
	a.B[jnz-1] = byte(len(a.B) - jnz)
	a.Int3() // parent
	img.cloneParentTrap = a.PC()

	img.batchAddr = a.PC()
	emitBatch(&a)
	img.batchTrap = a.PC()

	code := a.B
	if codeOffset+len(code) > dataOff {
		return nil, fmt.Errorf("stub code (%d bytes) overlaps its data", len(code))
	}
	if dataOff+dataSize > batchOff {
		return nil, fmt.Errorf("stub data overlaps the CPU sets")
	}
	img.elf = make([]byte, istub.PinMasksEnd)
	istub.WriteELFHeaders(img.elf, uint64(len(img.elf)))
	copy(img.elf[codeOffset:], code)
	binary.LittleEndian.PutUint64(img.elf[dataOff:], sigIgn) // sa_handler; flags, restorer, mask stay 0
	istub.WritePinMasks(img.elf)
	return img, nil
}

// emitBatch assembles the batch loop (see stubImage.batchAddr). Only rax,
// rdi, rsi, rdx, r10, r8, r9, rbx, r12 and the syscall's rcx and r11
// change; the tracer sets all registers again afterwards.
func emitBatch(a *istub.Asm) {
	a.Emit(0x49, 0x89, 0xdc) // mov r12, rbx (count)
	a.Emit(0x48, 0xbb)       // mov rbx, batchOpsAddr
	a.Imm64(batchOpsAddr)
	loop := a.PC()
	a.Emit(0x4d, 0x85, 0xe4) // test r12, r12
	a.Emit(0x74, 0)          // jz done (patched below)
	jz := len(a.B)
	a.Emit(0x48, 0x8b, 0x03)       // mov rax, [rbx]
	a.Emit(0x48, 0x8b, 0x7b, 0x08) // mov rdi, [rbx+8]
	a.Emit(0x48, 0x8b, 0x73, 0x10) // mov rsi, [rbx+16]
	a.Emit(0x48, 0x8b, 0x53, 0x18) // mov rdx, [rbx+24]
	a.Emit(0x4c, 0x8b, 0x53, 0x20) // mov r10, [rbx+32]
	a.Emit(0x4c, 0x8b, 0x43, 0x28) // mov r8, [rbx+40]
	a.Emit(0x4c, 0x8b, 0x4b, 0x30) // mov r9, [rbx+48]
	a.Syscall()
	a.Emit(0x48, 0x3d) // cmp rax, -4095
	a.Imm32(uint32(0xfffff001))
	a.Emit(0x73, 0) // jae done: an error (patched below)
	jae := len(a.B)
	a.Emit(0x48, 0x83, 0xc3, batchOpSize) // add rbx, batchOpSize
	a.Emit(0x49, 0xff, 0xcc)              // dec r12
	a.JmpBack8(loop)
	a.B[jz-1] = byte(len(a.B) - jz)
	a.B[jae-1] = byte(len(a.B) - jae)
	a.Int3() // done
}
