package seccomp

import (
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// Install compiles f and loads it on every thread of the process: it sets
// no_new_privs (which the kernel requires of an unprivileged caller) and
// calls seccomp(SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC), which
// applies the filter, and no_new_privs, to all threads at once. Threads
// started later inherit it. A filter cannot be removed: later filters
// only add restrictions.
func Install(f Filter) error {
	prog, err := f.Assemble()
	if err != nil {
		return err
	}
	return load(prog)
}

// load installs an assembled program on all threads.
func load(prog []bpf.RawInstruction) error {
	if len(prog) == 0 || len(prog) > maxInsns {
		return fmt.Errorf("filter has %d instructions, want 1 to %d", len(prog), maxInsns)
	}
	insns := make([]unix.SockFilter, len(prog))
	for i, ri := range prog {
		insns[i] = unix.SockFilter{Code: ri.Op, Jt: ri.Jt, Jf: ri.Jf, K: ri.K}
	}
	fprog := unix.SockFprog{Len: uint16(len(insns)), Filter: &insns[0]}

	// no_new_privs is per thread: set it on the thread that calls seccomp;
	// TSYNC copies it to the others.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("setting no_new_privs: %w", err)
	}
	r, _, e := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_TSYNC,
		uintptr(unsafe.Pointer(&fprog)))
	runtime.KeepAlive(insns)
	if e != 0 {
		return fmt.Errorf("seccomp(SECCOMP_SET_MODE_FILTER, TSYNC): %w", e)
	}
	if r != 0 {
		// With TSYNC, a positive return names a thread that could not
		// be synchronized (it runs an unrelated filter); nothing was
		// installed.
		return fmt.Errorf("seccomp: thread %d cannot take the filter", r)
	}
	return nil
}
