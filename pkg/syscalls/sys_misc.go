package syscalls

import (
	"crypto/rand"
	"runtime"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/kernel"
)

// Miscellaneous: uname, arch_prctl, thread bookkeeping, randomness, limits,
// system information, scheduling and prctl.

// getrandomMax bounds one getrandom call like Linux (32 MiB - 1).
const getrandomMax = 1<<25 - 1

func init() {
	register(linux.SYS_UNAME, sysUname, kernel.Hex)
	register(linux.SYS_ARCH_PRCTL, sysArchPrctl, kernel.Hex, kernel.Hex)
	register(linux.SYS_SET_TID_ADDRESS, sysSetTidAddress, kernel.Hex)
	register(linux.SYS_SET_ROBUST_LIST, sysSetRobustList, kernel.Hex, kernel.Int)
	register(linux.SYS_RSEQ, sysRseq, kernel.Hex, kernel.Int, kernel.Hex, kernel.Hex)
	register(linux.SYS_GETRANDOM, sysGetrandom, kernel.Hex, kernel.Int, kernel.Hex)
	register(linux.SYS_GETRLIMIT, sysGetrlimit, kernel.Int, kernel.Hex)
	register(linux.SYS_SETRLIMIT, sysSetrlimit, kernel.Int, kernel.Hex)
	register(linux.SYS_PRLIMIT64, sysPrlimit64, kernel.Int, kernel.Int, kernel.Hex, kernel.Hex)
	register(linux.SYS_SYSINFO, sysSysinfo, kernel.Hex)
	register(linux.SYS_SCHED_YIELD, sysSchedYield)
	register(linux.SYS_SCHED_GETAFFINITY, sysSchedGetaffinity, kernel.Int, kernel.Int, kernel.Hex)
	register(linux.SYS_GETCPU, sysGetcpu, kernel.Hex, kernel.Hex, kernel.Hex)
	register(linux.SYS_PRCTL, sysPrctl, kernel.Int, kernel.Hex, kernel.Hex, kernel.Hex, kernel.Hex)
	register(linux.SYS_PERSONALITY, sysPersonality, kernel.Hex)
}

// putUTS copies s into a NUL-terminated utsname field.
func putUTS(dst *[linux.UTSLen]byte, s string) {
	copy(dst[:linux.UTSLen-1], s)
}

func sysUname(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	cfg := t.Kernel().Config()
	var u linux.Utsname
	putUTS(&u.Sysname, "Linux")
	putUTS(&u.Nodename, cfg.Hostname)
	putUTS(&u.Release, cfg.Release)
	putUTS(&u.Version, cfg.Version)
	putUTS(&u.Machine, "x86_64")
	putUTS(&u.Domainname, "(none)")
	return 0, kernel.CopyObjectOut(t, a[0], &u)
}

// maxUserAddress bounds fs/gs bases (the canonical lower half).
const maxUserAddress = 1 << 47

func sysArchPrctl(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	regs := t.Regs()
	switch a[0] {
	case linux.ARCH_SET_FS:
		if a[1] >= maxUserAddress {
			return 0, linux.EPERM
		}
		regs.Fs_base = uint64(a[1])
	case linux.ARCH_SET_GS:
		if a[1] >= maxUserAddress {
			return 0, linux.EPERM
		}
		regs.Gs_base = uint64(a[1])
	case linux.ARCH_GET_FS:
		v := regs.Fs_base
		return 0, kernel.CopyObjectOut(t, a[1], &v)
	case linux.ARCH_GET_GS:
		v := regs.Gs_base
		return 0, kernel.CopyObjectOut(t, a[1], &v)
	default:
		return 0, linux.EINVAL
	}
	return 0, nil
}

func sysSetTidAddress(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	t.SetClearChildTID(a[0])
	return uintptr(t.ThreadID()), nil
}

// robustListHeadSize is sizeof(struct robust_list_head).
const robustListHeadSize = 24

func sysSetRobustList(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	if a[1] != robustListHeadSize {
		return 0, linux.EINVAL
	}
	t.SetRobustList(a[0])
	return 0, nil
}

// sysRseq: restartable sequences are not supported; glibc copes.
func sysRseq(*kernel.Task, kernel.SyscallArguments) (uintptr, error) {
	return 0, linux.ENOSYS
}

func sysGetrandom(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	flags := a[2]
	if flags&^(linux.GRND_NONBLOCK|linux.GRND_RANDOM|linux.GRND_INSECURE) != 0 ||
		flags&(linux.GRND_RANDOM|linux.GRND_INSECURE) == linux.GRND_RANDOM|linux.GRND_INSECURE {
		return 0, linux.EINVAL
	}
	n := min(a[1], getrandomMax)
	buf := make([]byte, min(n, 64<<10))
	done := uintptr(0)
	for done < n {
		chunk := buf[:min(n-done, uintptr(len(buf)))]
		if _, err := rand.Read(chunk); err != nil {
			return 0, linux.EIO
		}
		c, err := t.CopyOut(a[0]+done, chunk)
		done += uintptr(c)
		if err != nil {
			if done > 0 {
				return done, nil
			}
			return 0, err
		}
	}
	return done, nil
}

func getLimit(t *kernel.Task, pid int32, res int, addr uintptr) error {
	old, err := t.Prlimit(pid, res, nil)
	if err != nil {
		return err
	}
	rl := linux.RLimit64{Cur: old.Cur, Max: old.Max}
	return kernel.CopyObjectOut(t, addr, &rl)
}

func sysGetrlimit(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return 0, getLimit(t, 0, int(a[0]), a[1])
}

func sysSetrlimit(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	var rl linux.RLimit64
	if err := kernel.CopyObjectIn(t, a[1], &rl); err != nil {
		return 0, err
	}
	_, err := t.Prlimit(0, int(a[0]), &kernel.Rlimit{Cur: rl.Cur, Max: rl.Max})
	return 0, err
}

// sysPrlimit64: prlimit64(pid, resource, new, old).
func sysPrlimit64(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	pid, res := int32(a[0]), int(a[1])
	var newLim *kernel.Rlimit
	if a[2] != 0 {
		var rl linux.RLimit64
		if err := kernel.CopyObjectIn(t, a[2], &rl); err != nil {
			return 0, err
		}
		newLim = &kernel.Rlimit{Cur: rl.Cur, Max: rl.Max}
	}
	old, err := t.Prlimit(pid, res, newLim)
	if err != nil {
		return 0, err
	}
	if a[3] != 0 {
		rl := linux.RLimit64{Cur: old.Cur, Max: old.Max}
		return 0, kernel.CopyObjectOut(t, a[3], &rl)
	}
	return 0, nil
}

func sysSysinfo(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	k := t.Kernel()
	total := k.Config().TotalMemory
	if total == 0 {
		total = 2 << 30
	}
	si := linux.Sysinfo{
		Uptime:   int64(k.Uptime().Seconds()),
		TotalRAM: total,
		FreeRAM:  total / 2,
		Procs:    uint16(min(k.NumProcesses(), 0xffff)),
		MemUnit:  1,
	}
	return 0, kernel.CopyObjectOut(t, a[0], &si)
}

func sysSchedYield(*kernel.Task, kernel.SyscallArguments) (uintptr, error) {
	runtime.Gosched()
	return 0, nil
}

// sysSchedGetaffinity: sched_getaffinity(pid, len, mask) reports
// Config.NumCPU CPUs and returns the bytes written.
func sysSchedGetaffinity(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	pid, size := int32(a[0]), a[1]
	if pid < 0 {
		return 0, linux.EINVAL
	}
	if pid != 0 && t.Kernel().ThreadGroup(pid) == nil {
		return 0, linux.ESRCH
	}
	ncpu := t.Kernel().Config().NumCPU
	need := uintptr((ncpu + 63) / 64 * 8)
	if size < need || size%8 != 0 {
		return 0, linux.EINVAL
	}
	mask := make([]byte, need)
	for i := 0; i < ncpu; i++ {
		mask[i/8] |= 1 << (i % 8)
	}
	if _, err := t.CopyOut(a[2], mask); err != nil {
		return 0, err
	}
	return need, nil
}

func sysGetcpu(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	var zero uint32
	for _, addr := range a[:2] {
		if addr != 0 {
			if err := kernel.CopyObjectOut(t, addr, &zero); err != nil {
				return 0, err
			}
		}
	}
	return 0, nil
}

// prctlFns implements the prctl options that are supported.
var prctlFns = map[uintptr]func(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error){
	linux.PR_SET_NAME: func(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
		var b [16]byte
		n, err := t.CopyIn(a[1], b[:])
		if err != nil && n == 0 {
			return 0, err
		}
		name := b[:n]
		for i, c := range name {
			if c == 0 {
				name = name[:i]
				break
			}
		}
		t.SetComm(string(name))
		return 0, nil
	},
	linux.PR_GET_NAME: func(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
		var b [16]byte
		copy(b[:15], t.Comm())
		_, err := t.CopyOut(a[1], b[:])
		return 0, err
	},
	linux.PR_SET_CHILD_SUBREAPER: func(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
		t.SetChildSubreaper(a[1] != 0)
		return 0, nil
	},
	linux.PR_GET_CHILD_SUBREAPER: func(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
		var v int32
		if t.ChildSubreaper() {
			v = 1
		}
		return 0, kernel.CopyObjectOut(t, a[1], &v)
	},
	linux.PR_SET_PDEATHSIG: func(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
		if a[1] > linux.NumSignals {
			return 0, linux.EINVAL
		}
		t.SetParentDeathSignal(int(a[1]))
		return 0, nil
	},
	linux.PR_GET_PDEATHSIG: func(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
		v := int32(t.ParentDeathSignal())
		return 0, kernel.CopyObjectOut(t, a[1], &v)
	},
	linux.PR_GET_DUMPABLE: func(t *kernel.Task, _ kernel.SyscallArguments) (uintptr, error) {
		return uintptr(t.Dumpable()), nil
	},
	linux.PR_SET_DUMPABLE: func(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
		return 0, t.SetDumpable(int32(a[1]))
	},
	linux.PR_SET_NO_NEW_PRIVS: func(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
		if a[1] != 1 || a[2] != 0 || a[3] != 0 || a[4] != 0 {
			return 0, linux.EINVAL
		}
		t.SetNoNewPrivs()
		return 0, nil
	},
	linux.PR_GET_NO_NEW_PRIVS: func(t *kernel.Task, _ kernel.SyscallArguments) (uintptr, error) {
		if t.NoNewPrivs() {
			return 1, nil
		}
		return 0, nil
	},
}

func sysPrctl(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	fn, ok := prctlFns[a[0]]
	if !ok {
		return 0, linux.EINVAL
	}
	return fn(t, a)
}

func sysPersonality(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return uintptr(t.Personality(uint32(a[0]))), nil
}
