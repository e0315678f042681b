package stub

import (
	"encoding/binary"

	"golang.org/x/sys/unix"
)

// Asm is a minimal x86-64 assembler for the instructions both stubs need.
// Code is assembled at Addr+CodeOffset; B is the code so far, which callers
// may patch (jump displacements) and extend with Emit.
type Asm struct {
	B []byte
}

// PC is the address of the next instruction.
func (a *Asm) PC() uintptr { return Addr + CodeOffset + uintptr(len(a.B)) }

// Emit appends raw bytes.
func (a *Asm) Emit(b ...byte) { a.B = append(a.B, b...) }

// Imm32 appends a little-endian 32-bit immediate.
func (a *Asm) Imm32(v uint32) { a.B = binary.LittleEndian.AppendUint32(a.B, v) }

// Imm64 appends a little-endian 64-bit immediate.
func (a *Asm) Imm64(v uint64) { a.B = binary.LittleEndian.AppendUint64(a.B, v) }

// MovEAX emits mov eax, v.
func (a *Asm) MovEAX(v uint32) { a.Emit(0xb8); a.Imm32(v) }

// MovEDI emits mov edi, v.
func (a *Asm) MovEDI(v uint32) { a.Emit(0xbf); a.Imm32(v) }

// MovESI emits mov esi, v.
func (a *Asm) MovESI(v uint32) { a.Emit(0xbe); a.Imm32(v) }

// MovR10D emits mov r10d, v.
func (a *Asm) MovR10D(v uint32) { a.Emit(0x41, 0xba); a.Imm32(v) }

// MovRDI emits mov rdi, v (64-bit immediate).
func (a *Asm) MovRDI(v uint64) { a.Emit(0x48, 0xbf); a.Imm64(v) }

// MovRSI emits mov rsi, v (64-bit immediate).
func (a *Asm) MovRSI(v uint64) { a.Emit(0x48, 0xbe); a.Imm64(v) }

// XorEDI emits xor edi, edi.
func (a *Asm) XorEDI() { a.Emit(0x31, 0xff) }

// XorEDX emits xor edx, edx.
func (a *Asm) XorEDX() { a.Emit(0x31, 0xd2) }

// Syscall emits syscall.
func (a *Asm) Syscall() { a.Emit(0x0f, 0x05) }

// Int3 emits int3.
func (a *Asm) Int3() { a.Emit(0xcc) }

// MovEDIEAX emits mov edi, eax.
func (a *Asm) MovEDIEAX() { a.Emit(0x89, 0xc7) }

// TestRAX emits test rax, rax.
func (a *Asm) TestRAX() { a.Emit(0x48, 0x85, 0xc0) }

// JmpBack8 emits a short jump back to target.
func (a *Asm) JmpBack8(target uintptr) { a.Emit(0xeb, byte(int8(int(target)-int(a.PC()+2)))) }

// The prologue pieces both stubs share.

// UnmapAllButStub emits the munmaps that empty the user address range but
// for the stub page: [0, Addr) and [Addr+PageSize, UserTop).
func (a *Asm) UnmapAllButStub() {
	a.MovEAX(unix.SYS_MUNMAP)
	a.XorEDI()
	a.MovRSI(Addr)
	a.Syscall()
	a.MovEAX(unix.SYS_MUNMAP)
	a.MovRDI(Addr + PageSize)
	a.MovRSI(UserTop - (Addr + PageSize))
	a.Syscall()
}

// SigCall emits nr(arg, ptr, NULL, 8): rt_sigaction of signal arg, or
// rt_sigprocmask with how arg, on an 8-byte signal set.
func (a *Asm) SigCall(nr, arg uint32, ptr uint64) {
	a.MovEAX(nr)
	a.MovEDI(arg)
	a.MovRSI(ptr)
	a.XorEDX()
	a.MovR10D(8)
	a.Syscall()
}

// CloseFrom emits close_range(fd, ~0, 0).
func (a *Asm) CloseFrom(fd uint32) {
	a.MovEAX(unix.SYS_CLOSE_RANGE)
	a.MovEDI(fd)
	a.MovESI(^uint32(0))
	a.XorEDX()
	a.Syscall()
}
