// Package platform defines how the kernel runs application code: an address
// space it can map ranges of the memory file into, and a context that runs one
// application thread until it makes a system call, faults, or is interrupted.
//
// The platform knows nothing of the kernel. It never executes an application
// system call on the host: every one is returned to the kernel as a trap.
package platform

import "golang.org/x/sys/unix"

// Registers is the x86-64 general register file of an application thread, in
// the layout of the Linux user_regs_struct.
type Registers = unix.PtraceRegs

// Protection bits for MapFile and Protect; the values are Linux's PROT_*.
const (
	ProtRead  = unix.PROT_READ
	ProtWrite = unix.PROT_WRITE
	ProtExec  = unix.PROT_EXEC
)

// AddressSpace is the host side of one application address space. The kernel
// owns the truth about memory (its VMAs); an AddressSpace only makes the host
// agree with it. All methods are safe for concurrent use.
//
// Until a context first switches into it, a platform may only record
// MapFile, Unmap and Protect and make them in that Switch (nothing can see
// the address space before): invalid arguments still fail at once, a host
// failure then fails the Switch.
type AddressSpace interface {
	// MapFile maps length bytes of the platform's memory file, starting at
	// file offset off, at addr with prot, replacing whatever was there.
	// addr, length and off are page aligned.
	MapFile(addr, length uintptr, off int64, prot int) error

	// Unmap removes any mapping in [addr, addr+length).
	Unmap(addr, length uintptr) error

	// Protect changes the protection of [addr, addr+length).
	Protect(addr, length uintptr, prot int) error

	// Release destroys the address space. It must not be in use by a Switch.
	Release()
}

// TrapKind says why Switch returned.
type TrapKind int

// Trap kinds.
const (
	// TrapSyscall: the thread made a system call. regs.Orig_rax holds the
	// number, the arguments are in rdi, rsi, rdx, r10, r8, r9, and rip already
	// points after the syscall instruction. The kernel stores the result in
	// regs.Rax and calls Switch again.
	TrapSyscall TrapKind = iota
	// TrapFault: a memory access fault (Signo SIGSEGV or SIGBUS) at Addr.
	TrapFault
	// TrapSignal: a synchronous signal caused by the application's own
	// instruction stream (SIGILL, SIGFPE, SIGTRAP, ...), in Signo/Code.
	TrapSignal
	// TrapInterrupted: Interrupt was called; regs are consistent and the
	// thread may be resumed by calling Switch again.
	TrapInterrupted
)

// Trap describes why Switch returned.
type Trap struct {
	Kind  TrapKind
	Signo int     // for TrapFault and TrapSignal
	Code  int     // si_code for TrapFault and TrapSignal
	Addr  uintptr // faulting address for TrapFault (si_addr)
}

// Context runs one application thread. A Context is used by one goroutine at
// a time (its task's), except Interrupt, which any goroutine may call.
type Context interface {
	// Switch runs the thread described by regs in as until it traps, and
	// returns why with regs updated. A non-nil error means the platform
	// failed (for example the stub process died); the thread cannot go on.
	Switch(as AddressSpace, regs *Registers) (Trap, error)

	// Interrupt makes a current or the next Switch return TrapInterrupted
	// promptly. Interrupts do not queue: several before a Switch cause one
	// TrapInterrupted.
	Interrupt()

	// Release frees the context's host resources.
	Release()
}

// Platform creates address spaces and contexts.
type Platform interface {
	// NewAddressSpace returns a new, empty address space.
	NewAddressSpace() (AddressSpace, error)

	// NewContext returns a context for one application thread.
	NewContext() (Context, error)

	// MinUserAddress and MaxUserAddress bound the addresses the kernel may
	// give the application: [MinUserAddress, MaxUserAddress). Anything the
	// platform itself keeps in the address space lies outside that range.
	MinUserAddress() uintptr
	MaxUserAddress() uintptr

	// Close releases all host resources of the platform.
	Close()
}

// FPContext is implemented by contexts that keep their thread's extended
// floating point state (x87, SSE, AVX, ...) apart from other threads. It is
// an optional extension of Context (checked with a type assertion) so that
// simple platforms and test fakes need not implement it.
//
// The state is in the layout Linux uses for signal frames and ptrace's
// NT_X86_XSTATE regset: a 512-byte FXSAVE area whose bytes 464..511 hold the
// software-reserved fpx_sw_bytes (magic, sizes, xfeatures), followed by the
// XSAVE header and extended components when the host uses XSAVE. Its length
// is fixed per platform (512 without XSAVE).
type FPContext interface {
	// FPState returns a copy of the thread's state.
	FPState() ([]byte, error)

	// SetFPState replaces the thread's state from the next Switch on. nil
	// resets it to the initial state of a new process. A shorter b fills
	// the start of the state (the rest is initial); an invalid one (bad
	// MXCSR or XSAVE header) is refused with an error and changes nothing.
	SetFPState(b []byte) error
}
