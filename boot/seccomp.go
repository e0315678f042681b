package boot

import (
	"fmt"
	"time"

	"bulwark.dev/pkg/seccomp"
	"golang.org/x/sys/unix"
)

// The sandbox's syscall allowlist, installed right after confine: the Go
// runtime's needs (seccomp.GoRuntime) plus exactly the host syscalls the
// sandbox makes after boot. Everything it works on is an fd it already
// holds, so no syscall that takes a path, creates a socket, mounts or
// executes is allowed: invariant 2 (no host path after boot) holds even
// for a compromised sandbox.
//
// Anything else kills the process (SECCOMP_RET_KILL_PROCESS), as in the
// gofer: a missing syscall is loud (the sandbox dies with SIGSYS, exit
// status 159, and the kernel's audit log names the syscall) rather than a
// subtle EPERM. The e2e and conformance suites run under the filter.

// platformRules are the ptrace platform's: tracing and reaping the stub
// processes, signalling them (Context.Interrupt, kills), their pidfds, and
// the CPU affinity of the sandbox's own threads.
// The sandbox has its own PID namespace, which holds only itself and its
// stubs, so signals and waits need no pid check. Any ptrace request is
// allowed: the platform's needs grow (register sets, FPU state, threads);
// waitid and tkill are not used today, but grant nothing wait4 and tgkill
// do not, and the threads work in progress may need them.
// Mapping the memory file into a stub (with PROT_EXEC for application
// code) is done by the stub itself, by injected syscalls, so the sandbox's
// own mmap and mprotect keep GoRuntime's no-PROT_EXEC rule.
func platformRules() seccomp.Rules {
	r := seccomp.Rules{}
	for _, nr := range []uintptr{
		unix.SYS_PTRACE, unix.SYS_WAIT4, unix.SYS_WAITID,
		unix.SYS_KILL, unix.SYS_TGKILL, unix.SYS_TKILL,
		unix.SYS_PIDFD_OPEN, unix.SYS_PIDFD_SEND_SIGNAL,
	} {
		r.Add(nr)
	}
	// The platform pins its own threads (stub.HostPin): pid 0 only.
	r.Add(unix.SYS_SCHED_SETAFFINITY, seccomp.Rule{seccomp.ArgEq(0, 0)})
	return r
}

// ttyIoctls are the ioctls pkg/fs/host forwards to a host stdio fd:
// FIONREAD (as TIOCINQ) and the termios and window-size calls. Others,
// TIOCSTI (faking terminal input) first, are refused. The job-control
// requests (TIOCGPGRP, TIOCSPGRP, TIOCGSID, TIOCSCTTY, TIOCNOTTY) are
// answered by the sandbox kernel and never reach the host; the sandbox's
// own TIOCSCTTY (boot/tty.go) is allowed below.
var ttyIoctls = []uint64{
	unix.TIOCINQ, unix.TCGETS, unix.TCSETS, unix.TCSETSW, unix.TCSETSF,
	unix.TIOCGWINSZ, unix.TIOCSWINSZ,
}

// fileRules are the host file syscalls on fds the sandbox holds: the
// memory file (punching holes, finding data for copy-on-write), stdio
// (pkg/fs/host: pipes, ttys, sockets, files), files the gofer donated
// (pkg/fs/gofer), the exit file, the debug log, the gofer connections
// (pkg/fsproto) and the control socket (pkg/urpc).
func fileRules() seccomp.Rules {
	r := seccomp.Rules{}
	for _, nr := range []uintptr{
		// Files: stdio, donated files, the exit file, the memory file.
		unix.SYS_PWRITE64, unix.SYS_LSEEK, unix.SYS_FSTAT, unix.SYS_FTRUNCATE, unix.SYS_FSYNC,
		// Waiting for stdio (unix.Poll is ppoll).
		unix.SYS_PPOLL,
		// Stdio sockets (MSG_DONTWAIT), gofer and control connections.
		unix.SYS_RECVFROM, unix.SYS_RECVMSG, unix.SYS_SENDMSG,
		// The control socket (net.FileListener, Accept) and the gofer
		// connections (net.FileConn).
		unix.SYS_ACCEPT4, unix.SYS_GETSOCKNAME, unix.SYS_GETPEERNAME,
	} {
		r.Add(nr)
	}
	// Only returning memory-file pages.
	r.Add(unix.SYS_FALLOCATE, seccomp.Rule{seccomp.ArgEq(1, unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE)})
	r.Add(unix.SYS_GETSOCKOPT, seccomp.Rule{seccomp.ArgEq(1, unix.SOL_SOCKET), seccomp.ArgEq(2, unix.SO_TYPE)})
	// The command is an unsigned int: callers may leave the upper half
	// undefined.
	for _, cmd := range ttyIoctls {
		r.Add(unix.SYS_IOCTL, seccomp.Rule{seccomp.ArgMaskedEq(1, 0xffffffff, cmd)})
	}
	// Taking an exec'd process's terminal as the sandbox's controlling
	// terminal (boot/tty.go), never stealing one (argument 1).
	r.Add(unix.SYS_IOCTL, seccomp.Rule{seccomp.ArgMaskedEq(1, 0xffffffff, unix.TIOCSCTTY), seccomp.ArgEq(2, 0)})
	return r
}

// sandboxFilter is the sandbox's whole filter.
func sandboxFilter(profiling bool) seccomp.Filter {
	allow := seccomp.GoRuntime()
	// glibc (cgo builds) starts threads with clone3, whose flags a filter
	// cannot see; ENOSYS makes it fall back to clone.
	deny := map[uintptr]seccomp.Action{unix.SYS_CLONE3: seccomp.Errno(unix.ENOSYS)}
	if profiling {
		allow.Merge(profileRules())
		for nr, act := range profileDenials {
			deny[nr] = act
		}
	}
	allow.Merge(platformRules())
	allow.Merge(systrapRules())
	allow.Merge(fileRules())
	allow.Merge(netRules())
	return seccomp.Filter{Allow: allow, Deny: deny, Default: seccomp.KillProcess}
}

// installFilter installs sandboxFilter on every thread. It first loads the
// local time zone, which the debug log's timestamps would otherwise load
// lazily with an open the filter forbids (after confine the zone file is
// out of reach anyway; the debug log has loaded it before when enabled).
func installFilter(profiling bool) error {
	_ = time.Local.String()
	if err := seccomp.Install(sandboxFilter(profiling)); err != nil {
		return fmt.Errorf("installing the seccomp filter: %w", err)
	}
	return nil
}
