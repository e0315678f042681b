package systrap

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// Offsets in struct seccomp_data: nr (s32), arch (u32),
// instruction_pointer (u64, after the syscall instruction), args.
const (
	sdNr   = 0
	sdArch = 4
	sdIPLo = 8
	sdIPHi = 12
	sdArgs = 16 // args[i] at sdArgs+8*i, low half first
)

// stubSyscalls are the only host syscalls an application thread may make,
// and only from the stub's code: those of its signal handler. A syscall
// with argument rules is allowed when the low 32 bits of that argument
// (an int for the host kernel) take one of the values.
var stubSyscalls = []struct {
	nr     uint32
	arg    int      // argument index checked, if values is not empty
	values []uint32 // allowed values
}{
	{nr: nrFutex, arg: 1, values: []uint32{futexWait, futexWake}},
	{nr: nrArchPrctl, arg: 0, values: []uint32{archSetFS, archSetGS}},
	// Only the thread itself (pid 0): an application that jumps here can
	// at most narrow its own thread's CPUs within the sandbox's.
	{nr: nrSchedSetaff, arg: 0, values: []uint32{0}},
	{nr: nrRtSigreturn},
	{nr: nrExit},
}

// threadFilter is the seccomp program every context thread installs on
// itself (the stub's first thread, which serves injections, has none):
//
//   - a non-x86-64 syscall (int 0x80) kills the stub;
//   - a syscall from outside [stubAddr, trapAddr) raises SIGSYS, which the
//     handler reports to the sandbox: it never runs on the host;
//   - from the stub's code, only the handler's own syscalls run; anything
//     else (an application jumping into the stub with its own registers)
//     kills the stub.
func threadFilter(trapAddr uintptr) ([]byte, error) {
	prog, err := threadFilterProg(trapAddr)
	if err != nil {
		return nil, err
	}
	raw, err := bpf.Assemble(prog)
	if err != nil {
		return nil, fmt.Errorf("assembling the thread filter: %w", err)
	}
	out := make([]byte, 0, 8*len(raw))
	for _, ri := range raw {
		out = binary.LittleEndian.AppendUint16(out, ri.Op)
		out = append(out, ri.Jt, ri.Jf)
		out = binary.LittleEndian.AppendUint32(out, ri.K)
	}
	return out, nil
}

// threadFilterProg is threadFilter's program.
func threadFilterProg(trapAddr uintptr) ([]bpf.Instruction, error) {
	if stubAddr>>32 != uint64(trapAddr)>>32 {
		return nil, fmt.Errorf("stub code crosses a 4 GiB boundary")
	}
	trap := uint32(unix.SECCOMP_RET_TRAP)
	kill := uint32(unix.SECCOMP_RET_KILL_PROCESS)
	allow := uint32(unix.SECCOMP_RET_ALLOW)
	prog := []bpf.Instruction{
		bpf.LoadAbsolute{Off: sdArch, Size: 4},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.AUDIT_ARCH_X86_64, SkipTrue: 1},
		bpf.RetConstant{Val: kill},
		bpf.LoadAbsolute{Off: sdIPHi, Size: 4},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(stubAddr >> 32), SkipTrue: 1},
		bpf.RetConstant{Val: trap},
		bpf.LoadAbsolute{Off: sdIPLo, Size: 4},
		bpf.JumpIf{Cond: bpf.JumpGreaterOrEqual, Val: uint32(stubAddr & 0xffffffff), SkipTrue: 1},
		bpf.RetConstant{Val: trap},
		bpf.JumpIf{Cond: bpf.JumpGreaterOrEqual, Val: uint32(trapAddr), SkipFalse: 1},
		bpf.RetConstant{Val: trap},
		bpf.LoadAbsolute{Off: sdNr, Size: 4},
	}
	for _, sc := range stubSyscalls {
		var block []bpf.Instruction
		if len(sc.values) > 0 {
			block = append(block, bpf.LoadAbsolute{Off: sdArgs + 8*uint32(sc.arg), Size: 4})
			for _, v := range sc.values {
				block = append(block, bpf.JumpIf{Cond: bpf.JumpEqual, Val: v, SkipFalse: 1}, bpf.RetConstant{Val: allow})
			}
			block = append(block, bpf.RetConstant{Val: kill})
		} else {
			block = append(block, bpf.RetConstant{Val: allow})
		}
		prog = append(prog, bpf.JumpIf{Cond: bpf.JumpEqual, Val: sc.nr, SkipFalse: uint8(len(block))})
		prog = append(prog, block...)
	}
	return append(prog, bpf.RetConstant{Val: kill}), nil
}
