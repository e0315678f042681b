package seccomp

import (
	"golang.org/x/sys/unix"
)

// Thread creation flags, checked so that clone can only start threads of
// this process, never a new process or namespace.
const (
	threadFlags = unix.CLONE_VM | unix.CLONE_FS | unix.CLONE_FILES | unix.CLONE_SIGHAND |
		unix.CLONE_SYSVSEM | unix.CLONE_THREAD | unix.CLONE_SETTLS
	// goCloneFlags are the Go runtime's (runtime.newosproc).
	goCloneFlags = threadFlags
	// glibcCloneFlags are pthread_create's (used by cgo binaries).
	glibcCloneFlags = threadFlags | unix.CLONE_PARENT_SETTID | unix.CLONE_CHILD_CLEARTID
)

// GoRuntime returns the syscalls a running Go program (linux/amd64, Go
// 1.26) needs whatever it does: memory (mmap and mprotect never with
// PROT_EXEC), futexes, threads (clone with thread flags only), signals
// (kill and tgkill only to this process, as its pid is now), sleeping and
// scheduling, the GOMAXPROCS refresh (sched_getaffinity, pread64 of the
// cgroup file), the network poller (epoll, eventfd2), the os package's fd
// plumbing (read, write, close, a few fcntl commands) and exiting. It also
// covers glibc's thread creation in cgo binaries (set_robust_list, rseq,
// brk); add Deny[SYS_CLONE3] = Errno(ENOSYS) to the filter so glibc falls
// back from clone3 to clone. Startup-only syscalls (arch_prctl, uname,
// prlimit64, openat of /sys files) are not included: install the filter
// after the runtime has started.
func GoRuntime() Rules {
	pid := uint64(unix.Getpid())
	noExec := Rule{ArgMaskedEq(2, unix.PROT_EXEC, 0)}
	r := Rules{}
	for _, nr := range []uintptr{
		unix.SYS_READ, unix.SYS_WRITE, unix.SYS_CLOSE, unix.SYS_PREAD64,
		unix.SYS_MUNMAP, unix.SYS_MADVISE, unix.SYS_BRK,
		unix.SYS_FUTEX, unix.SYS_SCHED_YIELD, unix.SYS_NANOSLEEP, unix.SYS_CLOCK_GETTIME,
		unix.SYS_GETPID, unix.SYS_GETTID, unix.SYS_GETRANDOM,
		unix.SYS_RT_SIGACTION, unix.SYS_RT_SIGPROCMASK, unix.SYS_RT_SIGRETURN, unix.SYS_SIGALTSTACK,
		unix.SYS_RESTART_SYSCALL, unix.SYS_EXIT, unix.SYS_EXIT_GROUP,
		unix.SYS_EPOLL_CREATE1, unix.SYS_EPOLL_CTL, unix.SYS_EPOLL_PWAIT, unix.SYS_EVENTFD2,
		unix.SYS_SET_ROBUST_LIST, unix.SYS_RSEQ,
	} {
		r.Add(nr)
	}
	r.Add(unix.SYS_MMAP, noExec)
	r.Add(unix.SYS_MPROTECT, noExec)
	r.Add(unix.SYS_CLONE, Rule{ArgEq(0, goCloneFlags)}, Rule{ArgEq(0, glibcCloneFlags)})
	r.Add(unix.SYS_SCHED_GETAFFINITY, Rule{ArgEq(0, 0)})
	r.Add(unix.SYS_KILL, Rule{ArgEq(0, pid)})
	r.Add(unix.SYS_TGKILL, Rule{ArgEq(0, pid)})
	for _, cmd := range []uint64{unix.F_GETFD, unix.F_SETFD, unix.F_GETFL, unix.F_SETFL, unix.F_DUPFD_CLOEXEC} {
		r.Add(unix.SYS_FCNTL, Rule{ArgEq(1, cmd)})
	}
	return r
}
