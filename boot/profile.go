package boot

import (
	"fmt"
	"os"
	"runtime/pprof"
	"sync"

	"bulwark.dev/pkg/seccomp"
	"golang.org/x/sys/unix"
)

// startProfile starts the Go CPU profile of the sandbox process into path
// (--profile-cpu), created now, before confine makes host paths
// unreachable. The returned function stops the profile and closes the
// file (once: later calls do nothing); it does nothing when path is "".
func startProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("creating the CPU profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("starting the CPU profile: %w", err)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			pprof.StopCPUProfile()
			f.Close()
		})
	}, nil
}

// profileRules are the Go CPU profiler's syscalls: a process-wide
// ITIMER_PROF and a CPU-time timer per thread, which signal SIGPROF.
func profileRules() seccomp.Rules {
	r := seccomp.Rules{}
	for _, nr := range []uintptr{
		unix.SYS_SETITIMER, unix.SYS_TIMER_CREATE, unix.SYS_TIMER_SETTIME, unix.SYS_TIMER_DELETE,
	} {
		r.Add(nr)
	}
	return r
}

// profileDenials fail, rather than kill the sandbox, a call the profiler
// may make after the filter is installed: the goroutine StartCPUProfile
// starts reads /proc/self/maps (the profile's mappings) whenever it first
// runs. The open still fails, so no host path is opened after boot; the
// profile then lacks mappings, and pprof is given the binary
// (`go tool pprof runsc FILE`).
var profileDenials = map[uintptr]seccomp.Action{unix.SYS_OPENAT: seccomp.Errno(unix.EACCES)}
