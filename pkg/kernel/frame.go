package kernel

import (
	"unsafe"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/platform"
)

// Flags bits of rflags.
const (
	eflagsCF = 1 << 0
	eflagsPF = 1 << 2
	eflagsAF = 1 << 4
	eflagsZF = 1 << 6
	eflagsSF = 1 << 7
	eflagsTF = 1 << 8
	eflagsDF = 1 << 10
	eflagsOF = 1 << 11
	eflagsRF = 1 << 16
	eflagsAC = 1 << 18

	// eflagsUser are the bits rt_sigreturn takes from the frame.
	eflagsUser = eflagsAC | eflagsOF | eflagsDF | eflagsTF | eflagsSF | eflagsZF |
		eflagsAF | eflagsPF | eflagsCF | eflagsRF
)

// User code and stack segment selectors on x86-64 Linux.
const (
	userCS = 0x33
	userSS = 0x2b
)

// Offsets of the ucontext and siginfo in linux.RtSigFrame.
var (
	offsetOfUC   = unsafe.Offsetof(linux.RtSigFrame{}.UC)
	offsetOfInfo = unsafe.Offsetof(linux.RtSigFrame{}.Info)
)

// sigContextFromRegs saves the registers as uc_mcontext. The FPU state is
// not saved yet (fpstate is NULL).
func sigContextFromRegs(r *platform.Registers, mask linux.SignalSet) linux.SigContext {
	return linux.SigContext{
		R8: r.R8, R9: r.R9, R10: r.R10, R11: r.R11,
		R12: r.R12, R13: r.R13, R14: r.R14, R15: r.R15,
		Rdi: r.Rdi, Rsi: r.Rsi, Rbp: r.Rbp, Rbx: r.Rbx,
		Rdx: r.Rdx, Rax: r.Rax, Rcx: r.Rcx, Rsp: r.Rsp,
		Rip: r.Rip, Eflags: r.Eflags,
		Cs: uint16(r.Cs), Ss: uint16(r.Ss),
		Oldmask: uint64(mask),
	}
}

// regsFromSigContext restores the registers from uc_mcontext, keeping the
// segment selectors the kernel chose and only the user-changeable flags.
func regsFromSigContext(r *platform.Registers, c *linux.SigContext) {
	r.R8, r.R9, r.R10, r.R11 = c.R8, c.R9, c.R10, c.R11
	r.R12, r.R13, r.R14, r.R15 = c.R12, c.R13, c.R14, c.R15
	r.Rdi, r.Rsi, r.Rbp, r.Rbx = c.Rdi, c.Rsi, c.Rbp, c.Rbx
	r.Rdx, r.Rax, r.Rcx, r.Rsp = c.Rdx, c.Rax, c.Rcx, c.Rsp
	r.Rip = c.Rip
	r.Eflags = r.Eflags&^eflagsUser | c.Eflags&eflagsUser
	r.Cs, r.Ss = userCS, userSS
	r.Orig_rax = ^uint64(0)
}

// sizeOf returns the size of *v.
func sizeOf[T any](v *T) uintptr { return unsafe.Sizeof(*v) }

// asBytes views a plain-data value (no pointers) as its bytes.
func asBytes[T any](v *T) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(v)), unsafe.Sizeof(*v))
}

// CopyObjectOut writes the plain-data value *v (an ABI struct or integer,
// no pointers) to the task's memory at addr, in the host's (x86-64) layout.
func CopyObjectOut[T any](t *Task, addr uintptr, v *T) error {
	b := asBytes(v)
	n, err := t.CopyOut(addr, b)
	if err == nil && n != len(b) {
		err = linux.EFAULT
	}
	return err
}

// CopyObjectIn reads the plain-data value *v from the task's memory at addr.
func CopyObjectIn[T any](t *Task, addr uintptr, v *T) error {
	b := asBytes(v)
	n, err := t.CopyIn(addr, b)
	if err == nil && n != len(b) {
		err = linux.EFAULT
	}
	return err
}
