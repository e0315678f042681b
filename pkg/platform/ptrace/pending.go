package ptrace

import (
	"fmt"

	"golang.org/x/sys/unix"

	istub "bulwark.dev/pkg/platform/internal/stub"
)

// Deferred address space changes.
//
// An address space that no context has switched into yet cannot be seen by
// the application, so MapFile, Unmap and Protect on it (a fork copying its
// parent's mappings, execve loading an image) are only recorded. The first
// context thread created in it replays them in order, in batches of up to
// maxBatch: the thread's own tracer (the task's OS thread) writes them to
// the stub page with PTRACE_POKEDATA and one injection runs them all,
// instead of a hand-off to the first thread's tracer and a stop per change.
// From then on the address space is live and changes are made at once.

// hostOp is one recorded host syscall (mmap, munmap or mprotect).
type hostOp struct {
	nr   uintptr
	args [6]uintptr
	n    int // number of args used
}

// deferLocked records the syscall when the address space is not live yet
// and reports whether it did. What the host would refuse whatever the
// state of the stub (unaligned or out of range addresses) and a stub known
// to be gone fail at once. Requires as.mu.
func (as *addressSpace) deferLocked(nr uintptr, args []uintptr) (bool, error) {
	if as.live {
		return false, nil
	}
	if as.released {
		return false, errStubGone
	}
	if as.failed != nil {
		return false, as.failed
	}
	if !validRange(args[0], args[1]) || (nr == unix.SYS_MMAP && args[5]%pageSize != 0) {
		return false, unix.EINVAL
	}
	op := hostOp{nr: nr, n: len(args)}
	copy(op.args[:], args)
	as.pending = append(as.pending, op)
	return true, nil
}

// validRange reports whether [addr, addr+length) is a non-empty page
// aligned range of application addresses.
func validRange(addr, length uintptr) bool {
	end := addr + length
	return addr%pageSize == 0 && length%pageSize == 0 && length != 0 && end > addr && end <= stubAddr
}

// goLive replays the recorded changes in th, a new context thread traced
// by the caller, and makes the address space live. as.mu is held
// throughout, so that changes made meanwhile by other goroutines wait and
// land after the recorded ones.
func (as *addressSpace) goLive(th *stub) error {
	as.mu.Lock()
	defer as.mu.Unlock()
	if as.live {
		return nil
	}
	if as.failed != nil {
		return as.failed
	}
	for ops := as.pending; len(ops) > 0; {
		n := min(len(ops), maxBatch)
		if err := th.batch(ops[:n]); err != nil {
			// The application cannot run without its memory.
			return fmt.Errorf("replaying deferred changes in stub %d: %w", as.s.PID, err)
		}
		ops = ops[n:]
	}
	as.pending, as.live = nil, true
	return nil
}

// batch runs ops in the stopped thread s with one injection: they are
// written to the stub's batch area, which the stub's batch loop reads.
func (s *stub) batch(ops []hostOp) error {
	for i, op := range ops {
		addr := batchOpsAddr + uintptr(i*batchOpSize)
		words := append([]uintptr{op.nr}, op.args[:op.n]...)
		for j, w := range words {
			if err := s.Check("PTRACE_POKEDATA", istub.Ptrace(unix.PTRACE_POKEDATA, s.PID, addr+uintptr(j*8), w)); err != nil {
				return err
			}
		}
	}
	ret, err := s.Inject(s.img.batchAddr, s.img.batchTrap, uintptr(len(ops)), 0)
	if err != nil {
		return err
	}
	if e := int64(ret); e < 0 && e > -4096 {
		return unix.Errno(-e)
	}
	return nil
}
