package syscalls

import (
	"testing"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/kernel"
)

// TestKernelSyscallsRegistered checks that the process, signal, memory,
// time, identity and misc syscalls are in the table with their names.
func TestKernelSyscallsRegistered(t *testing.T) {
	want := []uintptr{
		linux.SYS_FORK, linux.SYS_VFORK, linux.SYS_CLONE, linux.SYS_CLONE3, linux.SYS_EXECVE,
		linux.SYS_EXECVEAT, linux.SYS_EXIT, linux.SYS_EXIT_GROUP, linux.SYS_WAIT4, linux.SYS_WAITID,
		linux.SYS_GETPID, linux.SYS_GETPPID, linux.SYS_GETTID, linux.SYS_SETSID, linux.SYS_SETPGID,
		linux.SYS_RT_SIGACTION, linux.SYS_RT_SIGPROCMASK, linux.SYS_RT_SIGRETURN, linux.SYS_KILL,
		linux.SYS_TGKILL, linux.SYS_SIGALTSTACK, linux.SYS_RESTART_SYSCALL, linux.SYS_BRK,
		linux.SYS_MMAP, linux.SYS_MUNMAP, linux.SYS_MPROTECT, linux.SYS_CLOCK_GETTIME,
		linux.SYS_NANOSLEEP, linux.SYS_CLOCK_NANOSLEEP, linux.SYS_SETRESUID, linux.SYS_GETGROUPS,
		linux.SYS_UNAME, linux.SYS_ARCH_PRCTL, linux.SYS_PRLIMIT64, linux.SYS_PRCTL, linux.SYS_GETRANDOM,
		linux.SYS_ALARM,
	}
	tab := Table()
	for _, nr := range want {
		sc, ok := tab[nr]
		if !ok || sc.Fn == nil {
			t.Errorf("%s (%d) not registered", linux.SyscallNames[nr], nr)
			continue
		}
		if sc.Name != linux.SyscallNames[nr] {
			t.Errorf("syscall %d named %q", nr, sc.Name)
		}
	}
	if got := tab[linux.SYS_EXECVE].Args; len(got) != 3 || got[0] != kernel.Path || got[1] != kernel.StringArray {
		t.Errorf("execve strace formats %v", got)
	}
}

func TestTimespecConversion(t *testing.T) {
	if _, err := fromTimespec(linux.Timespec{Sec: 1, Nsec: 1e9}); err != linux.EINVAL {
		t.Errorf("nsec out of range: %v", err)
	}
	if _, err := fromTimespec(linux.Timespec{Sec: -1}); err != linux.EINVAL {
		t.Errorf("negative: %v", err)
	}
	d, err := fromTimespec(linux.Timespec{Sec: 2, Nsec: 5})
	if err != nil || d != 2e9+5 {
		t.Errorf("2.000000005s = %v, %v", d, err)
	}
	if ts := toTimespec(d); ts.Sec != 2 || ts.Nsec != 5 {
		t.Errorf("back: %+v", ts)
	}
	if tv := toTimeval(1500 * 1e6); tv.Sec != 1 || tv.Usec != 500000 {
		t.Errorf("timeval %+v", tv)
	}
}
