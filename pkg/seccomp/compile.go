package seccomp

import (
	"fmt"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// Offsets in struct seccomp_data, which the kernel loads in native (little)
// byte order: nr (s32), arch (u32), instruction_pointer (u64), args[6] (u64).
const (
	offNr   = 0
	offArch = 4
	offArgs = 16
)

// maxInsns is the kernel's limit on a filter's length (BPF_MAXINSNS).
const maxInsns = 4096

// linearMax is the size of a sorted run of syscalls that is scanned
// linearly instead of split further.
const linearMax = 4

// maxSkip is the longest conditional jump: its offsets are 8 bits.
const maxSkip = 255

// Compile returns f as a seccomp-BPF program.
func (f *Filter) Compile() ([]bpf.Instruction, error) {
	prog, err := f.program()
	if err != nil {
		return nil, err
	}
	if len(prog) > maxInsns {
		return nil, fmt.Errorf("filter compiles to %d instructions, more than the kernel's %d", len(prog), maxInsns)
	}
	return prog, nil
}

// program is Compile without the kernel's length limit.
func (f *Filter) program() ([]bpf.Instruction, error) {
	if err := f.check(); err != nil {
		return nil, err
	}
	prog := []bpf.Instruction{
		bpf.LoadAbsolute{Off: offArch, Size: 4},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.AUDIT_ARCH_X86_64, SkipTrue: 1},
		bpf.RetConstant{Val: uint32(KillProcess)},
		bpf.LoadAbsolute{Off: offNr, Size: 4},
		bpf.JumpIf{Cond: bpf.JumpGreaterOrEqual, Val: maxNr, SkipFalse: 1},
		bpf.RetConstant{Val: uint32(f.Default)},
	}
	tree, err := f.tree(f.numbers())
	if err != nil {
		return nil, err
	}
	return append(prog, tree...), nil
}

// Assemble returns f as raw instructions, ready for the kernel.
func (f *Filter) Assemble() ([]bpf.RawInstruction, error) {
	prog, err := f.Compile()
	if err != nil {
		return nil, err
	}
	raw, err := bpf.Assemble(prog)
	if err != nil {
		return nil, fmt.Errorf("assembling the filter: %w", err)
	}
	return raw, nil
}

// tree dispatches on the syscall number in A, among nrs (sorted). Every
// path through the code it returns ends in a return.
func (f *Filter) tree(nrs []uint32) ([]bpf.Instruction, error) {
	if len(nrs) <= linearMax {
		return f.linear(nrs)
	}
	mid := len(nrs) / 2
	left, err := f.tree(nrs[:mid])
	if err != nil {
		return nil, err
	}
	right, err := f.tree(nrs[mid:])
	if err != nil {
		return nil, err
	}
	// A >= nrs[mid] goes right, after the left half.
	var out []bpf.Instruction
	if len(left) <= maxSkip {
		out = append(out, bpf.JumpIf{Cond: bpf.JumpGreaterOrEqual, Val: nrs[mid], SkipTrue: uint8(len(left))})
	} else {
		out = append(out,
			bpf.JumpIf{Cond: bpf.JumpGreaterOrEqual, Val: nrs[mid], SkipFalse: 1},
			bpf.Jump{Skip: uint32(len(left))})
	}
	out = append(out, left...)
	return append(out, right...), nil
}

// linear tests the syscall number in A against each of nrs in turn and
// returns the default action when none is equal.
func (f *Filter) linear(nrs []uint32) ([]bpf.Instruction, error) {
	var out []bpf.Instruction
	for _, nr := range nrs {
		block, err := f.syscall(uintptr(nr))
		if err != nil {
			return nil, err
		}
		if len(block) <= maxSkip {
			out = append(out, bpf.JumpIf{Cond: bpf.JumpEqual, Val: nr, SkipFalse: uint8(len(block))})
		} else {
			out = append(out,
				bpf.JumpIf{Cond: bpf.JumpEqual, Val: nr, SkipTrue: 1},
				bpf.Jump{Skip: uint32(len(block))})
		}
		out = append(out, block...)
	}
	return append(out, bpf.RetConstant{Val: uint32(f.Default)}), nil
}

// syscall decides one syscall: allow when a rule matches, else its own
// action or the default.
func (f *Filter) syscall(nr uintptr) ([]bpf.Instruction, error) {
	deny, ok := f.Deny[nr]
	if !ok {
		deny = f.Default
	}
	rules, allowed := f.Allow[nr]
	if allowed && len(rules) == 0 {
		return []bpf.Instruction{bpf.RetConstant{Val: uint32(Allow)}}, nil
	}
	var out []bpf.Instruction
	for i, r := range rules {
		code, err := rule(r)
		if err != nil {
			return nil, fmt.Errorf("syscall %d rule %d: %w", nr, i, err)
		}
		out = append(out, code...)
	}
	return append(out, bpf.RetConstant{Val: uint32(deny)}), nil
}

// word is a check of one 32-bit half of an argument: load & mask == value.
type word struct {
	off         uint32
	mask, value uint32
}

// rule returns code that returns Allow when r matches and otherwise falls
// through to the instruction after it.
func rule(r Rule) ([]bpf.Instruction, error) {
	var words []word
	for _, c := range r {
		off := uint32(offArgs + 8*c.Arg)
		// Little endian: the low half comes first.
		for i, sh := range []uint{0, 32} {
			m, v := uint32(c.Mask>>sh), uint32(c.Value>>sh)
			if m != 0 {
				words = append(words, word{off: off + uint32(4*i), mask: m, value: v})
			}
		}
	}
	size := 1 // the final return
	for _, w := range words {
		size += w.size()
	}
	out := make([]bpf.Instruction, 0, size)
	for _, w := range words {
		out = append(out, bpf.LoadAbsolute{Off: w.off, Size: 4})
		if w.mask != ^uint32(0) {
			out = append(out, bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: w.mask})
		}
		skip := size - len(out) - 1 // to the end of this rule
		if skip > maxSkip {
			return nil, fmt.Errorf("rule too long (%d instructions)", size)
		}
		out = append(out, bpf.JumpIf{Cond: bpf.JumpEqual, Val: w.value, SkipFalse: uint8(skip)})
	}
	return append(out, bpf.RetConstant{Val: uint32(Allow)}), nil
}

// size is the number of instructions w compiles to.
func (w word) size() int {
	if w.mask == ^uint32(0) {
		return 2
	}
	return 3
}
