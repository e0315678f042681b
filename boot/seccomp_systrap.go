package boot

import (
	"golang.org/x/sys/unix"

	"bulwark.dev/pkg/seccomp"
)

// systrapRules are the systrap platform's host calls after boot (the
// master stub, the slot file and its mapping are set up before the filter
// is installed): shared futexes on the slot file's mapping (waiting for a
// context thread's trap and waking it), tgkill to interrupt a context
// thread or probe that it is alive, and, for the stubs' first threads
// (which run mmap, munmap, mprotect, fork and clone by injection), the
// same ptrace, wait4 and pidfd calls as the ptrace platform. Most are in
// platformRules or GoRuntime already; they are listed here so that the
// platform keeps working if those are narrowed to the ptrace platform.
func systrapRules() seccomp.Rules {
	r := seccomp.Rules{}
	for _, nr := range []uintptr{
		unix.SYS_FUTEX, unix.SYS_TGKILL,
		unix.SYS_PTRACE, unix.SYS_WAIT4, unix.SYS_KILL,
		unix.SYS_PIDFD_OPEN, unix.SYS_PIDFD_SEND_SIGNAL,
	} {
		r.Add(nr)
	}
	return r
}
