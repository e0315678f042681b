// Package kernel implements the sandbox's Linux-compatible kernel: tasks,
// thread groups, PID namespaces, sessions and process groups, signals,
// credentials, futexes, timers and the run loop that drives a task through
// the platform.
//
// The exported names of the original contract are used by pkg/syscalls,
// pkg/fs/proc and boot; they keep their signatures. Kernel is in kernel.go,
// ThreadGroup in threadgroup.go, Task in task.go; lock order in kernel.go.
package kernel

import (
	"log"

	"bulwark.dev/pkg/kernel/auth"
	"bulwark.dev/pkg/mm"
	"bulwark.dev/pkg/platform"
	"bulwark.dev/pkg/vfs"
)

// SyscallArguments are the six raw argument registers of a system call.
type SyscallArguments [6]uintptr

// SyscallFn serves one system call. It returns the value for rax, or an
// error: a linux.Errno (or one of the ERESTART* codes) becomes -errno.
type SyscallFn func(t *Task, args SyscallArguments) (uintptr, error)

// ArgFormat says how --strace prints one argument.
type ArgFormat int

// Argument formats for --strace.
const (
	Hex         ArgFormat = iota // 0x1f
	Int                          // 31 (signed)
	FD                           // 3 (AT_FDCWD printed by name)
	Path                         // "/etc/passwd" (a NUL-terminated string)
	ReadBuf                      // buffer printed on exit, length = return value
	WriteBuf                     // buffer printed on entry, length = next argument
	Oct                          // 0755
	Signal                       // SIGTERM
	OpenFlags                    // O_RDONLY|O_CLOEXEC
	StringArray                  // ["sh", "-c", "x"] (argv/envp)
)

// Syscall is one entry of the syscall table.
type Syscall struct {
	Name string
	Fn   SyscallFn
	Args []ArgFormat // formats of the arguments strace prints
}

// SyscallTable maps syscall numbers to entries. Numbers without an entry
// return ENOSYS (logged once per name with --debug).
type SyscallTable map[uintptr]Syscall

// Config configures a Kernel.
type Config struct {
	Platform    platform.Platform
	MemoryFile  *mm.MemoryFile
	Syscalls    SyscallTable
	Hostname    string
	Release     string // uname -r, e.g. "5.15.0-bulwark"
	Version     string // uname -v
	Strace      bool   // log every application syscall to Log
	Log         *log.Logger
	NumCPU      int
	TotalMemory uint64 // bytes, for sysinfo and /proc/meminfo
}

// CreateProcessArgs describe a new process started from outside the sandbox
// (the container's init, or later an exec).
type CreateProcessArgs struct {
	Filename   string // path of the executable in the sandbox; "" means Argv[0] looked up in PATH of Envv
	Argv       []string
	Envv       []string
	WorkingDir string
	Creds      *auth.Credentials
	FDTable    *vfs.FDTable   // stdio already installed; the process takes ownership on success
	FSContext  *vfs.FSContext // root and cwd; the process takes ownership on success
	Umask      uint32
	Limits     map[int]Rlimit // RLIMIT_* number -> limit; missing means Linux default
	NoNewPrivs bool           // PR_SET_NO_NEW_PRIVS set before the program is loaded
	OOMScore   int            // oom_score_adj, -1000..1000
}

// Rlimit is one resource limit.
type Rlimit struct{ Cur, Max uint64 }

// ExitStatus is how a thread group ended.
type ExitStatus struct {
	Code  int // exit code when Signo == 0
	Signo int // terminating signal, or 0
	Cored bool
}

// ShellCode is the status the way a shell and runc report it: Code, or
// 128+Signo when killed by a signal.
func (s ExitStatus) ShellCode() int {
	if s.Signo != 0 {
		return 128 + s.Signo
	}
	return s.Code
}

// ProcessInfo is one row of `runsc ps`.
type ProcessInfo struct {
	PID, PPID int32
	UID       uint32
	State     string // R, S, T, Z
	StartTime int64  // unix nanoseconds
	CPUTime   int64  // nanoseconds
	Cmd       string // comm
	Args      []string
}
