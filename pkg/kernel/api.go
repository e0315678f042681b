// Package kernel implements the sandbox's Linux-compatible kernel: tasks,
// thread groups, PID namespaces, sessions and process groups, signals,
// credentials, futexes, timers and the run loop that drives a task through
// the platform.
//
// CONTRACT (lead): the exported names in this file are used by
// pkg/syscalls (all handler authors), pkg/fs/proc and boot. The kernel work
// owns this file: it implements them and may add more, but must keep these
// signatures.
package kernel

import (
	"io"
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

// Kernel is one sandbox's kernel.
type Kernel struct{ _ int }

// New creates a kernel with a root PID namespace and no tasks.
func New(cfg Config) (*Kernel, error) { panic("unimplemented") }

// CreateProcessArgs describe a new process started from outside the sandbox
// (the container's init, or later an exec).
type CreateProcessArgs struct {
	Filename   string // path of the executable in the sandbox; "" means Argv[0] looked up in PATH of Envv
	Argv       []string
	Envv       []string
	WorkingDir string
	Creds      *auth.Credentials
	FDTable    *vfs.FDTable   // stdio already installed; the process takes ownership
	FSContext  *vfs.FSContext // root and cwd; the process takes ownership
	Umask      uint32
	Limits     map[int]Rlimit // RLIMIT_* number -> limit; missing means Linux default
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

// CreateProcess loads the executable and creates a thread group in the root
// PID namespace; it does not run yet. Errors are user facing ("executable
// file not found in $PATH", ENOENT, EACCES, ENOEXEC).
func (k *Kernel) CreateProcess(args CreateProcessArgs) (*ThreadGroup, error) {
	panic("unimplemented")
}

// Start runs a created thread group.
func (k *Kernel) Start(tg *ThreadGroup) { panic("unimplemented") }

// Signal sends sig to the process pid (root namespace), as kill(2) from the
// host would: linux.ESRCH if there is none.
func (k *Kernel) Signal(pid int32, sig int) error { panic("unimplemented") }

// SignalAll sends sig to every process in the sandbox.
func (k *Kernel) SignalAll(sig int) { panic("unimplemented") }

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

// Processes lists the sandbox's processes in pid order.
func (k *Kernel) Processes() []ProcessInfo { panic("unimplemented") }

// Shutdown kills every task and waits for them to exit.
func (k *Kernel) Shutdown() { panic("unimplemented") }

// ThreadGroup is a process.
type ThreadGroup struct{ _ int }

// PID is the thread group's id in the root PID namespace.
func (tg *ThreadGroup) PID() int32 { panic("unimplemented") }

// Wait blocks until every thread of the group has exited and returns its
// status. It may be called any number of times, from any goroutine.
func (tg *ThreadGroup) Wait() ExitStatus { panic("unimplemented") }

// Task is a thread. Syscall handlers receive the calling task.
type Task struct{ _ int }

// Task implements vfs.Context.
var _ vfs.Context = (*Task)(nil)

// Block waits until ch is readable or closed, or a signal arrives
// (linux.ERESTARTSYS).
func (t *Task) Block(ch <-chan struct{}) error { panic("unimplemented") }

// Credentials returns the task's credentials.
func (t *Task) Credentials() *auth.Credentials { panic("unimplemented") }

// CopyIn copies len(dst) bytes from the task's memory at addr (linux.EFAULT).
func (t *Task) CopyIn(addr uintptr, dst []byte) (int, error) { panic("unimplemented") }

// CopyOut copies src to the task's memory at addr (linux.EFAULT).
func (t *Task) CopyOut(addr uintptr, src []byte) (int, error) { panic("unimplemented") }

// CopyInString reads a NUL-terminated string of at most max bytes
// (linux.ENAMETOOLONG beyond, linux.EFAULT on bad memory).
func (t *Task) CopyInString(addr uintptr, max int) (string, error) { panic("unimplemented") }

// FDTable returns the task's fd table.
func (t *Task) FDTable() *vfs.FDTable { panic("unimplemented") }

// FSContext returns the task's root, cwd and umask.
func (t *Task) FSContext() *vfs.FSContext { panic("unimplemented") }

// MemoryManager returns the task's address space.
func (t *Task) MemoryManager() *mm.MemoryManager { panic("unimplemented") }

// Kernel returns the task's kernel.
func (t *Task) Kernel() *Kernel { panic("unimplemented") }

// SendSignal sends sig to the task itself, as the kernel does for SIGPIPE
// on a write to a broken pipe.
func (t *Task) SendSignal(sig int) { panic("unimplemented") }

// ThreadID is the task's tid in its own PID namespace.
func (t *Task) ThreadID() int32 { panic("unimplemented") }

// Debugf writes to the sandbox's debug log with the task's tid prefixed.
func (t *Task) Debugf(format string, v ...any) { panic("unimplemented") }

var _ = io.EOF
