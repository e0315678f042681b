// Package stub holds the code the ptrace and systrap platforms share for
// their stub processes: the memory layout, a minimal x86-64 assembler and
// ELF writer for the in-memory stub executable, starting the master stub,
// the traced stub thread (waits, injected syscalls, kills), the locked
// tracer thread, raw ptrace helpers, the validation of FPU (XSAVE) state,
// and what makes a trap cheaper: stub threads pinned to the CPU of the
// thread that resumes them (Affinity) and ptrace stops that do not signal
// the sandbox (QuietStops).
//
// It is internal to pkg/platform: each platform assembles its own stub and
// drives its own stub threads with these pieces.
package stub

// Layout of a stub process. The stub is a tiny static ELF executable built
// in memory (no file in the repository) whose code page lives at Addr, just
// above the application's range.
const (
	Addr     = 0x7fffff000000 // the stub code page; also MaxUserAddress
	MinUser  = 0x10000        // MinUserAddress (Linux's default mmap_min_addr)
	UserTop  = 0x800000000000 // end of the 47-bit user half
	PageSize = 0x1000
	MemFD    = 3 // fd of the sandbox kernel's memory file inside every stub

	ELFHeaderSize = 64
	ProgHdrSize   = 56
	CodeOffset    = ELFHeaderSize + ProgHdrSize // code follows the headers
)
