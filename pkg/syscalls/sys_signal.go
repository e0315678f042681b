package syscalls

import (
	"time"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/kernel"
)

// Signals: actions, masks, delivery control and sending.

// sigsetSize is the only sigsetsize the rt_sig* calls accept.
const sigsetSize = 8

func init() {
	register(linux.SYS_RT_SIGACTION, sysRtSigaction, kernel.Signal, kernel.Hex, kernel.Hex, kernel.Int)
	register(linux.SYS_RT_SIGPROCMASK, sysRtSigprocmask, kernel.Int, kernel.Hex, kernel.Hex, kernel.Int)
	register(linux.SYS_RT_SIGRETURN, sysRtSigreturn)
	register(linux.SYS_RT_SIGPENDING, sysRtSigpending, kernel.Hex, kernel.Int)
	register(linux.SYS_RT_SIGSUSPEND, sysRtSigsuspend, kernel.Hex, kernel.Int)
	register(linux.SYS_SIGALTSTACK, sysSigaltstack, kernel.Hex, kernel.Hex)
	register(linux.SYS_KILL, sysKill, kernel.Int, kernel.Signal)
	register(linux.SYS_TKILL, sysTkill, kernel.Int, kernel.Signal)
	register(linux.SYS_TGKILL, sysTgkill, kernel.Int, kernel.Int, kernel.Signal)
	register(linux.SYS_RT_SIGTIMEDWAIT, sysRtSigtimedwait, kernel.Hex, kernel.Hex, kernel.Hex, kernel.Int)
	register(linux.SYS_RT_SIGQUEUEINFO, sysRtSigqueueinfo, kernel.Int, kernel.Signal, kernel.Hex)
	register(linux.SYS_RT_TGSIGQUEUEINFO, sysRtTgsigqueueinfo, kernel.Int, kernel.Int, kernel.Signal, kernel.Hex)
	register(linux.SYS_PAUSE, sysPause)
	register(linux.SYS_RESTART_SYSCALL, sysRestartSyscall)
}

// sysRtSigaction: rt_sigaction(sig, act, oldact, sigsetsize).
func sysRtSigaction(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	if a[3] != sigsetSize {
		return 0, linux.EINVAL
	}
	var act *linux.SigAction
	if a[1] != 0 {
		act = new(linux.SigAction)
		if err := kernel.CopyObjectIn(t, a[1], act); err != nil {
			return 0, err
		}
	}
	old, err := t.SigAction(int(a[0]), act)
	if err != nil {
		return 0, err
	}
	if a[2] != 0 {
		return 0, kernel.CopyObjectOut(t, a[2], &old)
	}
	return 0, nil
}

// sysRtSigprocmask: rt_sigprocmask(how, set, oldset, sigsetsize).
func sysRtSigprocmask(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	if a[3] != sigsetSize {
		return 0, linux.EINVAL
	}
	var set *linux.SignalSet
	if a[1] != 0 {
		set = new(linux.SignalSet)
		if err := kernel.CopyObjectIn(t, a[1], set); err != nil {
			return 0, err
		}
	}
	old, err := t.SigProcMask(int(a[0]), set)
	if err != nil {
		return 0, err
	}
	if a[2] != 0 {
		return 0, kernel.CopyObjectOut(t, a[2], &old)
	}
	return 0, nil
}

func sysRtSigreturn(t *kernel.Task, _ kernel.SyscallArguments) (uintptr, error) {
	return t.SigReturn()
}

// sysRtSigpending: rt_sigpending(set, sigsetsize).
func sysRtSigpending(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	if a[1] > sigsetSize {
		return 0, linux.EINVAL
	}
	set := t.SigPending()
	b := make([]byte, a[1])
	for i := range b {
		b[i] = byte(set >> (8 * i))
	}
	if _, err := t.CopyOut(a[0], b); err != nil {
		return 0, err
	}
	return 0, nil
}

// sysRtSigsuspend: rt_sigsuspend(mask, sigsetsize).
func sysRtSigsuspend(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	if a[1] != sigsetSize {
		return 0, linux.EINVAL
	}
	var mask linux.SignalSet
	if err := kernel.CopyObjectIn(t, a[0], &mask); err != nil {
		return 0, err
	}
	return 0, t.SigSuspend(mask)
}

// sysSigaltstack: sigaltstack(ss, old_ss).
func sysSigaltstack(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	var ss *linux.SignalStack
	if a[0] != 0 {
		ss = new(linux.SignalStack)
		if err := kernel.CopyObjectIn(t, a[0], ss); err != nil {
			return 0, err
		}
	}
	old, err := t.SigAltStack(ss)
	if err != nil {
		return 0, err
	}
	if a[1] != 0 {
		return 0, kernel.CopyObjectOut(t, a[1], &old)
	}
	return 0, nil
}

func sysKill(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return 0, t.Kill(int32(a[0]), int(int32(a[1])))
}

func sysTkill(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return 0, t.Tgkill(0, int32(a[0]), int(int32(a[1])))
}

func sysTgkill(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	if int32(a[0]) <= 0 {
		return 0, linux.EINVAL
	}
	return 0, t.Tgkill(int32(a[0]), int32(a[1]), int(int32(a[2])))
}

func sysPause(t *kernel.Task, _ kernel.SyscallArguments) (uintptr, error) {
	return 0, t.Pause()
}

func sysRestartSyscall(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return t.RestartSyscall(a)
}

// sysRtSigtimedwait: rt_sigtimedwait(set, info, timeout, sigsetsize)
// returns the signal taken; a NULL timeout waits forever.
func sysRtSigtimedwait(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	if a[3] != sigsetSize {
		return 0, linux.EINVAL
	}
	var set linux.SignalSet
	if err := kernel.CopyObjectIn(t, a[0], &set); err != nil {
		return 0, err
	}
	timeout := time.Duration(-1)
	if a[2] != 0 {
		var ts linux.Timespec
		if err := kernel.CopyObjectIn(t, a[2], &ts); err != nil {
			return 0, err
		}
		d, err := fromTimespec(ts)
		if err != nil {
			return 0, err
		}
		timeout = d
	}
	info, err := t.SigTimedWait(set, timeout)
	if err != nil {
		return 0, err
	}
	if a[1] != 0 {
		if err := kernel.CopyObjectOut(t, a[1], &info); err != nil {
			return 0, err
		}
	}
	return uintptr(info.Signo), nil
}

// sysRtSigqueueinfo: rt_sigqueueinfo(tgid, sig, info).
func sysRtSigqueueinfo(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	var info linux.SignalInfo
	if err := kernel.CopyObjectIn(t, a[2], &info); err != nil {
		return 0, err
	}
	return 0, t.SigQueueInfo(int32(a[0]), int(int32(a[1])), info)
}

// sysRtTgsigqueueinfo: rt_tgsigqueueinfo(tgid, tid, sig, info).
func sysRtTgsigqueueinfo(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	var info linux.SignalInfo
	if err := kernel.CopyObjectIn(t, a[3], &info); err != nil {
		return 0, err
	}
	return 0, t.TgSigQueueInfo(int32(a[0]), int32(a[1]), int(int32(a[2])), info)
}
