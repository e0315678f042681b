package gofer

import (
	"fmt"
	"time"

	"bulwark.dev/pkg/seccomp"
	"golang.org/x/sys/unix"
)

// The gofer's syscall allowlist, installed once it is confined and before
// it serves: the Go runtime's needs (seccomp.GoRuntime) plus exactly what
// the fsproto server does after confinement. The file server only uses
// fds it holds: every path argument is one component relative to one.
//
// Anything else kills the process (SECCOMP_RET_KILL_PROCESS) rather than
// failing with EPERM: a compromised gofer learns nothing by probing, and
// a syscall missing from the list is loud (the gofer dies with SIGSYS, the
// kernel's audit log names the syscall, and the sandbox sees every
// connection close) instead of a subtle EPERM. TestProcessAllOps runs
// every request type through a confined gofer to catch a missing one.

// fileRules are the fsproto server's host syscalls, with the symlink
// invariant checked where the kernel lets a flag say it: opens never
// follow a final symlink, nor do stat, chown, chmod, utimes or link.
func fileRules() seccomp.Rules {
	noFollowAt := func(arg int) seccomp.Rule {
		return seccomp.Rule{seccomp.ArgMaskedEq(arg, unix.AT_SYMLINK_NOFOLLOW, unix.AT_SYMLINK_NOFOLLOW)}
	}
	r := seccomp.Rules{}
	for _, nr := range []uintptr{
		// On fds: stat, readdir, truncate, chown/chmod of a new file.
		unix.SYS_FSTAT, unix.SYS_FSTATFS, unix.SYS_GETDENTS64, unix.SYS_LSEEK, unix.SYS_FTRUNCATE,
		unix.SYS_FCHOWN, unix.SYS_FCHMOD,
		// One name relative to a directory fd; none follows a final
		// symlink by itself.
		unix.SYS_MKDIRAT, unix.SYS_SYMLINKAT, unix.SYS_UNLINKAT, unix.SYS_RENAMEAT, unix.SYS_READLINKAT,
		// The connections: requests, replies with donated fds, and
		// shutdown when one ends on a protocol error.
		unix.SYS_RECVMSG, unix.SYS_SENDMSG, unix.SYS_SHUTDOWN, unix.SYS_GETSOCKNAME, unix.SYS_GETPEERNAME,
	} {
		r.Add(nr)
	}
	r.Add(unix.SYS_OPENAT, seccomp.Rule{seccomp.ArgMaskedEq(2, unix.O_NOFOLLOW, unix.O_NOFOLLOW)})
	r.Add(unix.SYS_NEWFSTATAT, noFollowAt(3))
	r.Add(unix.SYS_FCHOWNAT, noFollowAt(4))
	r.Add(unix.SYS_FCHMODAT2, noFollowAt(3))
	r.Add(unix.SYS_UTIMENSAT, noFollowAt(3))
	r.Add(unix.SYS_LINKAT, seccomp.Rule{seccomp.ArgMaskedEq(4, unix.AT_SYMLINK_FOLLOW, 0)})
	// Only FIFOs and sockets: the server never makes device nodes.
	r.Add(unix.SYS_MKNODAT,
		seccomp.Rule{seccomp.ArgMaskedEq(2, unix.S_IFMT, unix.S_IFIFO)},
		seccomp.Rule{seccomp.ArgMaskedEq(2, unix.S_IFMT, unix.S_IFSOCK)})
	r.Add(unix.SYS_GETSOCKOPT, seccomp.Rule{seccomp.ArgEq(1, unix.SOL_SOCKET), seccomp.ArgEq(2, unix.SO_TYPE)})
	return r
}

// goferFilter is the gofer's whole filter.
func goferFilter() seccomp.Filter {
	allow := seccomp.GoRuntime()
	allow.Merge(fileRules())
	return seccomp.Filter{
		Allow: allow,
		// glibc (cgo builds) starts threads with clone3, whose flags a
		// filter cannot see; ENOSYS makes it fall back to clone.
		Deny:    map[uintptr]seccomp.Action{unix.SYS_CLONE3: seccomp.Errno(unix.ENOSYS)},
		Default: seccomp.KillProcess,
	}
}

// installFilter installs goferFilter on every thread. It first loads the
// local time zone, which the debug log's timestamps would otherwise load
// lazily with an open the filter forbids.
func installFilter() error {
	_ = time.Local.String()
	if err := seccomp.Install(goferFilter()); err != nil {
		return fmt.Errorf("installing the seccomp filter: %w", err)
	}
	return nil
}
