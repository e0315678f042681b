package boot

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"bulwark.dev/boot/control"
	"bulwark.dev/pkg/mm"
	"bulwark.dev/pkg/platform"
	"bulwark.dev/pkg/platform/ptrace"
	"bulwark.dev/pkg/seccomp"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// seccompData encodes a struct seccomp_data for bpf.VM, which loads
// 32-bit words big-endian where the kernel loads them little-endian: each
// word is stored big-endian, a 64-bit argument's low word first.
func seccompData(nr uintptr, args ...uint64) []byte {
	b := make([]byte, 64)
	binary.BigEndian.PutUint32(b[0:], uint32(nr))
	binary.BigEndian.PutUint32(b[4:], unix.AUDIT_ARCH_X86_64)
	for i, a := range args {
		binary.BigEndian.PutUint32(b[16+8*i:], uint32(a))
		binary.BigEndian.PutUint32(b[20+8*i:], uint32(a>>32))
	}
	return b
}

// TestSandboxFilter checks the filter's decisions on the calls that
// guard the sandbox's invariants, and on the platform's calls.
func TestSandboxFilter(t *testing.T) {
	f := sandboxFilter(false)
	prog, err := f.Compile()
	if err != nil {
		t.Fatal(err)
	}
	vm, err := bpf.NewVM(prog)
	if err != nil {
		t.Fatal(err)
	}
	const (
		atFDCWD  = 1<<64 - 100
		stubPID  = 4242
		hiGarble = 0xdead_beef_0000_0000
		netType  = unix.SOCK_NONBLOCK | unix.SOCK_CLOEXEC
	)
	threadFlags := uint64(unix.CLONE_VM | unix.CLONE_FS | unix.CLONE_FILES | unix.CLONE_SIGHAND |
		unix.CLONE_SYSVSEM | unix.CLONE_THREAD | unix.CLONE_SETTLS)
	kill, allow := seccomp.KillProcess, seccomp.Allow
	for _, tc := range []struct {
		name string
		nr   uintptr
		args []uint64
		want seccomp.Action
	}{
		// Invariant 2: no host path after boot, by any route.
		{"open", unix.SYS_OPEN, []uint64{0, unix.O_RDONLY}, kill},
		{"openat", unix.SYS_OPENAT, []uint64{atFDCWD, 0, unix.O_RDONLY | unix.O_CLOEXEC}, kill},
		{"openat nofollow", unix.SYS_OPENAT, []uint64{5, 0, unix.O_PATH | unix.O_NOFOLLOW}, kill},
		{"openat2", unix.SYS_OPENAT2, nil, kill},
		{"creat", unix.SYS_CREAT, nil, kill},
		{"open_by_handle_at", unix.SYS_OPEN_BY_HANDLE_AT, nil, kill},
		{"newfstatat", unix.SYS_NEWFSTATAT, nil, kill},
		{"statx", unix.SYS_STATX, nil, kill},
		{"chdir", unix.SYS_CHDIR, nil, kill},
		// No new programs, mounts, namespaces or processes.
		{"execve", unix.SYS_EXECVE, nil, kill},
		{"execveat", unix.SYS_EXECVEAT, nil, kill},
		{"mount", unix.SYS_MOUNT, nil, kill},
		{"umount2", unix.SYS_UMOUNT2, nil, kill},
		{"pivot_root", unix.SYS_PIVOT_ROOT, nil, kill},
		{"unshare", unix.SYS_UNSHARE, nil, kill},
		{"setns", unix.SYS_SETNS, nil, kill},
		{"fork", unix.SYS_CLONE, []uint64{uint64(unix.SIGCHLD)}, kill},
		{"clone new namespace", unix.SYS_CLONE, []uint64{threadFlags | unix.CLONE_NEWNS}, kill},
		{"thread", unix.SYS_CLONE, []uint64{threadFlags}, allow},
		{"clone3", unix.SYS_CLONE3, nil, seccomp.Errno(unix.ENOSYS)},
		// Sockets: only the inet and netlink ones pkg/net/inet creates
		// (seccomp_net.go), with exactly its arguments.
		{"socket inet", unix.SYS_SOCKET, []uint64{unix.AF_INET, unix.SOCK_STREAM, 0}, kill},
		{"socket inet host", unix.SYS_SOCKET, []uint64{unix.AF_INET6, netType | unix.SOCK_STREAM, unix.IPPROTO_TCP}, allow},
		{"socket netlink route", unix.SYS_SOCKET, []uint64{unix.AF_NETLINK, netType | unix.SOCK_RAW, unix.NETLINK_ROUTE}, allow},
		{"socket netlink audit", unix.SYS_SOCKET, []uint64{unix.AF_NETLINK, netType | unix.SOCK_RAW, unix.NETLINK_AUDIT}, kill},
		{"socket raw ip", unix.SYS_SOCKET, []uint64{unix.AF_INET, netType | unix.SOCK_RAW, unix.IPPROTO_TCP}, kill},
		{"socket packet", unix.SYS_SOCKET, []uint64{unix.AF_PACKET, netType | unix.SOCK_RAW, 0x300}, kill},
		{"socket unix", unix.SYS_SOCKET, []uint64{unix.AF_UNIX, unix.SOCK_STREAM, 0}, kill},
		{"socketpair", unix.SYS_SOCKETPAIR, nil, kill},
		{"connect", unix.SYS_CONNECT, nil, allow},
		{"bind", unix.SYS_BIND, nil, allow},
		{"tcp_nodelay", unix.SYS_SETSOCKOPT, []uint64{5, unix.IPPROTO_TCP, unix.TCP_NODELAY}, allow},
		{"so_bindtodevice", unix.SYS_SETSOCKOPT, []uint64{5, unix.SOL_SOCKET, unix.SO_BINDTODEVICE}, kill},
		{"set so_error", unix.SYS_SETSOCKOPT, []uint64{5, unix.SOL_SOCKET, unix.SO_ERROR}, kill},
		{"siocgifflags", unix.SYS_IOCTL, []uint64{5, unix.SIOCGIFFLAGS}, allow},
		{"siocsifflags", unix.SYS_IOCTL, []uint64{5, unix.SIOCSIFFLAGS}, kill},
		{"accept4", unix.SYS_ACCEPT4, []uint64{5, 0, 0, unix.SOCK_CLOEXEC | unix.SOCK_NONBLOCK}, allow},
		{"so_type", unix.SYS_GETSOCKOPT, []uint64{5, unix.SOL_SOCKET, unix.SO_TYPE}, allow},
		{"so_peercred", unix.SYS_GETSOCKOPT, []uint64{5, unix.SOL_SOCKET, unix.SO_PEERCRED}, kill},
		// The sandbox never maps executable memory itself.
		{"mmap exec", unix.SYS_MMAP, []uint64{0, 4096, unix.PROT_READ | unix.PROT_EXEC}, kill},
		{"mprotect exec", unix.SYS_MPROTECT, []uint64{0, 4096, unix.PROT_READ | unix.PROT_EXEC}, kill},
		{"mmap rw", unix.SYS_MMAP, []uint64{0, 4096, unix.PROT_READ | unix.PROT_WRITE}, allow},
		// The platform: any ptrace request, waits and signals to stubs.
		{"ptrace sysemu", unix.SYS_PTRACE, []uint64{31, stubPID}, allow},
		{"ptrace getregset", unix.SYS_PTRACE, []uint64{unix.PTRACE_GETREGSET, stubPID, 2}, allow},
		{"ptrace seize", unix.SYS_PTRACE, []uint64{0x4206, stubPID}, allow},
		{"wait4", unix.SYS_WAIT4, []uint64{stubPID, 0, unix.WALL}, allow},
		{"waitid", unix.SYS_WAITID, nil, allow},
		{"kill stub", unix.SYS_KILL, []uint64{stubPID, uint64(unix.SIGKILL)}, allow},
		{"tgkill stub", unix.SYS_TGKILL, []uint64{stubPID, stubPID, uint64(unix.SIGUSR2)}, allow},
		{"tkill", unix.SYS_TKILL, []uint64{stubPID, uint64(unix.SIGUSR2)}, allow},
		{"pidfd_open", unix.SYS_PIDFD_OPEN, []uint64{stubPID, 0}, allow},
		{"pidfd_send_signal", unix.SYS_PIDFD_SEND_SIGNAL, nil, allow},
		{"process_vm_writev", unix.SYS_PROCESS_VM_WRITEV, nil, kill},
		// Host fds.
		{"fionread", unix.SYS_IOCTL, []uint64{0, unix.TIOCINQ}, allow},
		{"tcgets, garbage upper half", unix.SYS_IOCTL, []uint64{0, hiGarble | unix.TCGETS}, allow},
		{"tiocsti", unix.SYS_IOCTL, []uint64{0, unix.TIOCSTI}, kill},
		{"tiocsctty", unix.SYS_IOCTL, []uint64{0, unix.TIOCSCTTY, 0}, allow},
		{"tiocsctty steal", unix.SYS_IOCTL, []uint64{0, unix.TIOCSCTTY, 1}, kill},
		{"tiocspgrp", unix.SYS_IOCTL, []uint64{0, unix.TIOCSPGRP}, kill},
		{"tiocswinsz", unix.SYS_IOCTL, []uint64{0, unix.TIOCSWINSZ}, allow},
		{"punch hole", unix.SYS_FALLOCATE, []uint64{3, unix.FALLOC_FL_PUNCH_HOLE | unix.FALLOC_FL_KEEP_SIZE}, allow},
		{"fallocate", unix.SYS_FALLOCATE, []uint64{3, 0}, kill},
		{"getdents64", unix.SYS_GETDENTS64, nil, kill},
		{"read", unix.SYS_READ, nil, allow},
		{"futex", unix.SYS_FUTEX, nil, allow},
	} {
		r, err := vm.Run(seccompData(tc.nr, tc.args...))
		if err != nil {
			t.Fatal(err)
		}
		if got := seccomp.Action(uint32(r)); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestSandboxFilterProfiling checks what --profile-cpu changes: the
// profiler's timers are allowed, and an open fails instead of killing the
// sandbox (the profiler's own read of /proc/self/maps) but stays refused.
func TestSandboxFilterProfiling(t *testing.T) {
	f := sandboxFilter(true)
	prog, err := f.Compile()
	if err != nil {
		t.Fatal(err)
	}
	vm, err := bpf.NewVM(prog)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		nr   uintptr
		want seccomp.Action
	}{
		{"timer_create", unix.SYS_TIMER_CREATE, seccomp.Allow},
		{"setitimer", unix.SYS_SETITIMER, seccomp.Allow},
		{"openat", unix.SYS_OPENAT, seccomp.Errno(unix.EACCES)},
		{"open", unix.SYS_OPEN, seccomp.KillProcess},
		{"execve", unix.SYS_EXECVE, seccomp.KillProcess},
	} {
		r, err := vm.Run(seccompData(tc.nr))
		if err != nil {
			t.Fatal(err)
		}
		if got := seccomp.Action(uint32(r)); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// filterChildEnv makes the test binary, as a child, install the filter
// and run the named scenario (see filterChild).
const filterChildEnv = "BOOT_TEST_SECCOMP"

func init() {
	// init, not TestMain (confine_test.go has it): runs before either.
	if what := os.Getenv(filterChildEnv); what != "" {
		if err := filterChild(what); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
}

// forbidden are scenarios that must kill the filtered child: each
// makes one denied syscall.
var forbidden = map[string]func() error{
	"open":   func() error { _, err := os.Open("/"); return err },
	"openat": func() error { _, err := unix.Openat(unix.AT_FDCWD, "/", unix.O_RDONLY, 0); return err },
	"execve": func() error { return unix.Exec("/bin/true", []string{"true"}, nil) },
	"socket": func() error { _, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0); return err },
	"mount":  func() error { return unix.Mount("none", "/", "tmpfs", 0, "") },
}

// spinCode, at address 0x400000 of a stub: getpid; int3; then a busy
// loop at spinCode+8.
var spinCode = []byte{
	0xb8, 39, 0, 0, 0, // mov eax, 39
	0x0f, 0x05, // syscall
	0xcc,       // int3
	0xeb, 0xfe, // jmp .
}

const codeAddr = 0x400000

// filterChild runs in the child: it sets up what boot sets up before
// confine, installs the filter and then either makes a forbidden call
// (and should die of it) or drives the platform and the memory file as
// the kernel does, and writes the exit file.
func filterChild(what string) error {
	mf, err := mm.NewMemoryFile("seccomp-test", 1<<20)
	if err != nil {
		return err
	}
	if _, err := unix.Pwrite(mf.FD(), spinCode, 0); err != nil {
		return err
	}
	plat, err := ptrace.New(mf.FD())
	if err != nil {
		return err
	}
	exitFile, err := os.CreateTemp("", "seccomp-test-exit")
	if err != nil {
		return err
	}
	if err := os.Remove(exitFile.Name()); err != nil { // no unlink later
		return err
	}
	if err := installFilter(false); err != nil {
		return err
	}
	fmt.Println("installed")
	if fn, ok := forbidden[what]; ok {
		return fmt.Errorf("%s survived the filter: %v", what, fn())
	}
	if what != "platform" {
		return fmt.Errorf("unknown scenario %q", what)
	}
	if err := drivePlatform(plat); err != nil {
		return err
	}
	off, err := mf.Allocate(8 << 12)
	if err != nil {
		return err
	}
	if err := mf.Free(off, 8<<12); err != nil {
		return err
	}
	// The Go runtime's periodic work (GC, GOMAXPROCS refresh, timers).
	deadline := time.Now().Add(1200 * time.Millisecond)
	for time.Now().Before(deadline) {
		done := make(chan []byte)
		go func() { done <- make([]byte, 1<<20) }()
		<-done
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	plat.Close()
	// Recording the init's status, last thing before exit_group.
	if err := control.WriteExitFile(exitFile, 137); err != nil {
		return err
	}
	fmt.Println("done")
	return nil
}

// drivePlatform runs application code in a new address space: a trapped
// syscall, then an interrupted busy loop, then releases it.
func drivePlatform(plat *ptrace.Platform) error {
	as, err := plat.NewAddressSpace()
	if err != nil {
		return err
	}
	defer as.Release()
	if err := as.MapFile(codeAddr, 0x1000, 0, platform.ProtRead|platform.ProtExec); err != nil {
		return err
	}
	if err := as.Protect(codeAddr, 0x1000, platform.ProtRead|platform.ProtWrite|platform.ProtExec); err != nil {
		return err
	}
	c, err := plat.NewContext()
	if err != nil {
		return err
	}
	defer c.Release()
	r := platform.Registers{Rip: codeAddr, Eflags: 0x202}
	trap, err := c.Switch(as, &r)
	if err != nil {
		return err
	}
	if trap.Kind != platform.TrapSyscall || r.Orig_rax != unix.SYS_GETPID {
		return fmt.Errorf("first switch: trap %+v nr %d, want syscall getpid", trap, r.Orig_rax)
	}
	r.Rip = codeAddr + 8
	go func() {
		time.Sleep(50 * time.Millisecond)
		c.Interrupt()
	}()
	if trap, err = c.Switch(as, &r); err != nil {
		return err
	}
	if trap.Kind != platform.TrapInterrupted {
		return fmt.Errorf("second switch: trap %+v, want interrupted", trap)
	}
	return as.Unmap(codeAddr, 0x1000)
}

// staticTestBinary returns a test binary without cgo: this one, or a
// CGO_ENABLED=0 build of the package. runsc is built without cgo, and the
// filter is for such binaries: glibc, in a cgo binary, opens files by
// itself (/sys/devices/system/cpu/online when a new thread first
// allocates), which the filter forbids.
func staticTestBinary(t *testing.T) string {
	t.Helper()
	f, err := elf.Open(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dynamic := false
	for _, p := range f.Progs {
		dynamic = dynamic || p.Type == elf.PT_INTERP
	}
	if !dynamic {
		return os.Args[0]
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("cgo test binary and no go tool to build a static one: run with CGO_ENABLED=0")
	}
	exe := filepath.Join(t.TempDir(), "boot.test")
	cmd := exec.Command(goTool, "test", "-c", "-o", exe, "bulwark.dev/boot")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building a CGO_ENABLED=0 test binary: %v\n%s", err, out)
	}
	return exe
}

// runFilterChild runs scenario what in a child of test binary exe and
// returns its stdout and how it ended.
func runFilterChild(t *testing.T, exe, what string) (string, *os.ProcessState) {
	t.Helper()
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), filterChildEnv+"="+what)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("%s: %v", what, err)
	}
	if stderr.Len() > 0 {
		t.Logf("%s: stderr: %s", what, stderr.String())
	}
	return out.String(), cmd.ProcessState
}

// TestFilterInstalled drives the ptrace platform and the memory file
// under the filter, as the sandbox does after boot, and checks that each
// forbidden call kills the process with SIGSYS instead of failing.
func TestFilterInstalled(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for ptrace")
	}
	exe := staticTestBinary(t)
	out, st := runFilterChild(t, exe, "platform")
	if !st.Success() || !strings.Contains(out, "done") {
		t.Errorf("platform under the filter: %v, stdout %q (SIGSYS means a syscall is missing)", st, out)
	}
	for what := range forbidden {
		out, st := runFilterChild(t, exe, what)
		ws, _ := st.Sys().(syscall.WaitStatus)
		if !strings.Contains(out, "installed") || !ws.Signaled() || ws.Signal() != syscall.SIGSYS {
			t.Errorf("%s under the filter: %v, stdout %q; want death by SIGSYS", what, st, out)
		}
	}
}
