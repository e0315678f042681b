package systrap

import (
	"errors"

	"golang.org/x/sys/unix"

	istub "bulwark.dev/pkg/platform/internal/stub"
)

// The first thread of every stub process (and the master stub) never runs
// application code and has no seccomp filter: the sandbox makes it run the
// host syscalls that change the address space (fork, clone, mmap, munmap,
// mprotect) by ptrace injection, as pkg/platform/ptrace does, with the
// traced thread, tracer thread and ptrace helpers of package stub.

// errStubGone is returned for requests to a stub that has died.
var errStubGone = errors.New("systrap: stub process is gone")

const (
	ptraceOptions = unix.PTRACE_O_EXITKILL
)

// tracer is the locked OS thread that runs every ptrace and wait call for
// one stub's first thread (or the master).
type tracer = istub.Tracer

// startTracer starts a tracer thread and runs init on it first.
func startTracer(init func() error) (*tracer, error) {
	return istub.StartTracer(init, errStubGone)
}

// stub is the first thread of a stub process (or the master).
type stub = istub.Thread
