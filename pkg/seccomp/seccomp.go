// Package seccomp builds seccomp-BPF syscall allowlists for x86-64 and
// installs them on every thread of the calling process.
//
// A Filter names the syscalls it allows, each with any arguments or only
// with arguments some Rule matches, and the Action for everything else.
// Compile turns it into a classic BPF program (assembled with
// golang.org/x/net/bpf) that
//
//  1. kills the process when the calling architecture is not
//     AUDIT_ARCH_X86_64 (an i386 int 0x80 syscall, say);
//  2. answers x32 syscalls (nr >= 0x40000000) with the default action;
//  3. finds the syscall number by binary search over the sorted numbers
//     of the filter (a linear scan for the last few), so a call costs
//     about log2(n) comparisons;
//  4. checks the syscall's rules in order, returning ALLOW on the first
//     that matches, else the syscall's own action (Filter.Deny) or the
//     default.
//
// Install sets no_new_privs and loads the program with
// SECCOMP_FILTER_FLAG_TSYNC, so every thread of the Go process is covered,
// including threads the runtime starts later.
package seccomp

import (
	"fmt"
	"sort"

	"golang.org/x/sys/unix"
)

// Action is what the kernel does with a syscall: a SECCOMP_RET_* value
// with its data bits.
type Action uint32

// Actions. Use Errno for SECCOMP_RET_ERRNO.
const (
	// Allow lets the syscall run.
	Allow Action = unix.SECCOMP_RET_ALLOW
	// KillProcess kills the whole process with SIGSYS (not catchable).
	KillProcess Action = unix.SECCOMP_RET_KILL_PROCESS
	// KillThread kills only the calling thread.
	KillThread Action = unix.SECCOMP_RET_KILL_THREAD
	// Trap sends the caller a SIGSYS it may handle; si_syscall tells
	// which syscall.
	Trap Action = unix.SECCOMP_RET_TRAP
	// Log lets the syscall run after logging it to the kernel's audit log.
	Log Action = unix.SECCOMP_RET_LOG
)

// maxErrno is the largest errno SECCOMP_RET_ERRNO can return (the kernel
// clamps larger values to it).
const maxErrno = 4095

// Errno fails the syscall with e without running it.
func Errno(e unix.Errno) Action {
	return Action(unix.SECCOMP_RET_ERRNO | uint32(e)&unix.SECCOMP_RET_DATA)
}

// valid reports whether a is an action this package emits.
func (a Action) valid() bool {
	data := uint32(a) & unix.SECCOMP_RET_DATA
	switch uint32(a) & unix.SECCOMP_RET_ACTION_FULL {
	case unix.SECCOMP_RET_ERRNO:
		return data <= maxErrno
	case unix.SECCOMP_RET_TRAP:
		return true
	case unix.SECCOMP_RET_ALLOW, unix.SECCOMP_RET_KILL_PROCESS, unix.SECCOMP_RET_KILL_THREAD, unix.SECCOMP_RET_LOG:
		return data == 0
	}
	return false
}

// String names the action, e.g. "errno(1)".
func (a Action) String() string {
	data := uint32(a) & unix.SECCOMP_RET_DATA
	switch uint32(a) & unix.SECCOMP_RET_ACTION_FULL {
	case unix.SECCOMP_RET_ALLOW:
		return "allow"
	case unix.SECCOMP_RET_KILL_PROCESS:
		return "kill-process"
	case unix.SECCOMP_RET_KILL_THREAD:
		return "kill-thread"
	case unix.SECCOMP_RET_TRAP:
		return fmt.Sprintf("trap(%d)", data)
	case unix.SECCOMP_RET_ERRNO:
		return fmt.Sprintf("errno(%d)", data)
	case unix.SECCOMP_RET_LOG:
		return "log"
	}
	return fmt.Sprintf("action(%#x)", uint32(a))
}

// Cond matches one syscall argument: args[Arg] & Mask == Value, on all 64
// bits of the argument register. An argument the kernel reads as a 32-bit
// int is compared on all 64 bits too: match it with a 0xffffffff mask when
// callers may leave the upper half undefined.
type Cond struct {
	Arg   int    // argument index, 0 to 5
	Mask  uint64 // bits compared
	Value uint64 // their required value; must have no bit outside Mask
}

// ArgEq matches args[arg] == v.
func ArgEq(arg int, v uint64) Cond { return Cond{Arg: arg, Mask: ^uint64(0), Value: v} }

// ArgMaskedEq matches args[arg] & mask == v.
func ArgMaskedEq(arg int, mask, v uint64) Cond { return Cond{Arg: arg, Mask: mask, Value: v} }

// Rule matches a call when all its conditions hold. An empty Rule matches
// every call.
type Rule []Cond

// maxConds bounds the conditions of one rule, which keeps every jump of a
// rule's code short.
const maxConds = 16

// Rules maps syscall numbers (unix.SYS_*) to the rules that allow them. A
// syscall whose slice is empty (nil) is allowed with any arguments;
// otherwise it is allowed when at least one rule matches.
type Rules map[uintptr][]Rule

// Add allows nr when one of rules matches, or with any arguments when no
// rule is given. Adding to a syscall already allowed with any arguments
// changes nothing; adding no rule to one with rules allows any arguments.
func (r Rules) Add(nr uintptr, rules ...Rule) {
	old, ok := r[nr]
	switch {
	case ok && len(old) == 0:
	case len(rules) == 0:
		r[nr] = nil
	default:
		r[nr] = append(old, rules...)
	}
}

// Merge adds every syscall of other to r, as Add does.
func (r Rules) Merge(other Rules) {
	for nr, rules := range other {
		r.Add(nr, rules...)
	}
}

// Filter is a syscall allowlist.
type Filter struct {
	// Allow lists the syscalls allowed, and with which arguments.
	Allow Rules
	// Deny gives syscalls their own action for the calls Allow does not
	// allow, instead of Default: e.g. Errno(ENOSYS) for clone3, so that
	// libc falls back to clone, whose flags a rule can check.
	Deny map[uintptr]Action
	// Default is the action for any other call, and for x32 syscalls.
	Default Action
}

// maxNr bounds syscall numbers: x32 syscalls start at 0x40000000 and are
// never allowed.
const maxNr = 0x40000000

// check validates f.
func (f *Filter) check() error {
	if !f.Default.valid() {
		return fmt.Errorf("invalid default action %#x", uint32(f.Default))
	}
	for nr, a := range f.Deny {
		if nr >= maxNr {
			return fmt.Errorf("syscall %#x: not an x86-64 syscall number", nr)
		}
		if !a.valid() {
			return fmt.Errorf("syscall %d: invalid action %#x", nr, uint32(a))
		}
	}
	for nr, rules := range f.Allow {
		if nr >= maxNr {
			return fmt.Errorf("syscall %#x: not an x86-64 syscall number", nr)
		}
		for i, r := range rules {
			if len(r) > maxConds {
				return fmt.Errorf("syscall %d rule %d: %d conditions, at most %d", nr, i, len(r), maxConds)
			}
			for _, c := range r {
				if c.Arg < 0 || c.Arg > 5 {
					return fmt.Errorf("syscall %d rule %d: argument index %d out of range 0-5", nr, i, c.Arg)
				}
				if c.Value&^c.Mask != 0 {
					return fmt.Errorf("syscall %d rule %d: value %#x has bits outside mask %#x (it can never match)",
						nr, i, c.Value, c.Mask)
				}
			}
		}
	}
	return nil
}

// numbers returns every syscall number f names, sorted.
func (f *Filter) numbers() []uint32 {
	seen := make(map[uintptr]bool, len(f.Allow)+len(f.Deny))
	var out []uint32
	add := func(nr uintptr) {
		if !seen[nr] {
			seen[nr] = true
			out = append(out, uint32(nr))
		}
	}
	for nr := range f.Allow {
		add(nr)
	}
	for nr := range f.Deny {
		add(nr)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
