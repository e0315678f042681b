package kernel

import (
	"errors"
	"strconv"
	"time"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/platform"
)

// run is the task goroutine: it alternates between delivering signals,
// running application code and serving its traps until the task exits.
func (t *Task) run() {
	defer t.k.running.Done()
	for t.enterUser() { // freeze.go: holds the task while the kernel is frozen
		start := time.Now()
		t.switchStart.Store(start.UnixNano())
		trap, err := t.ctx.Switch(t.mm.AddressSpace(), &t.regs)
		t.userNanos.Add(int64(time.Since(start)))
		t.switchStart.Store(0)
		if err != nil {
			t.Debugf("platform failure, killing the process: %v", err)
			t.k.mu.Lock()
			t.k.exitGroupLocked(t.tg, ExitStatus{Signo: linux.SIGKILL})
			t.k.mu.Unlock()
			break
		}
		switch trap.Kind {
		case platform.TrapSyscall:
			t.doSyscall()
		case platform.TrapFault, platform.TrapSignal:
			if trap.Kind == platform.TrapFault && t.cowFault(trap) {
				continue // a copy-on-write page was unshared: retry
			}
			t.k.mu.Lock()
			t.forceSignalLocked(faultInfo(trap.Signo, trap.Code, trap.Addr))
			t.k.mu.Unlock()
		case platform.TrapInterrupted:
		}
	}
	t.exit()
}

// cowFault lets the address space resolve a fault on a present page
// (SEGV_ACCERR, which x86 reports for writes to copy-on-write pages; an
// instruction fetch, at the instruction pointer, is never a write) and
// reports whether it did.
func (t *Task) cowFault(trap platform.Trap) bool {
	write := trap.Signo == linux.SIGSEGV && trap.Code == linux.SEGV_ACCERR && trap.Addr != uintptr(t.regs.Rip)
	handled, err := t.mm.HandleFault(trap.Addr, write)
	if err != nil {
		t.Debugf("copy-on-write fault at %#x: %v", trap.Addr, err)
	}
	return handled
}

// doSyscall serves the syscall in t.regs and stores its result in rax.
func (t *Task) doSyscall() {
	start := time.Now()
	t.blockedNanos = 0
	nr := uintptr(t.regs.Orig_rax)
	args := SyscallArguments{
		uintptr(t.regs.Rdi), uintptr(t.regs.Rsi), uintptr(t.regs.Rdx),
		uintptr(t.regs.R10), uintptr(t.regs.R8), uintptr(t.regs.R9),
	}
	sc, ok := t.k.cfg.Syscalls[nr]
	var st *straceCall
	if t.k.cfg.Strace {
		st = t.straceEnter(nr, sc, ok, args)
	}
	var ret uintptr
	var err error
	if ok && sc.Fn != nil {
		ret, err = sc.Fn(t, args)
	} else {
		t.logUnknown(nr)
		err = linux.ENOSYS
	}
	t.restartErr = 0
	var errno linux.Errno
	if err != nil && !errors.As(err, &errno) {
		errno = 0
	}
	if t.haveSavedMask {
		t.restoreSavedMaskUnlessInterrupted(errno)
	}
	if err != nil {
		var errno linux.Errno
		if !errors.As(err, &errno) {
			// A handler error without an errno is a bug worth seeing;
			// the application gets EIO.
			t.Debugf("%s: %v", syscallName(nr), err)
			errno = linux.EIO
		}
		if isRestart(errno) {
			t.restartErr = errno
		}
		ret = errnoRet(errno)
	}
	if !t.exitRequested {
		t.regs.Rax = uint64(ret)
	}
	if st != nil {
		t.straceExit(st, ret, err)
	}
	t.sysNanos.Add(int64(time.Since(start) - t.blockedNanos))
}

// errnoRet is the rax value of a failed syscall: -errno.
func errnoRet(e linux.Errno) uintptr { return uintptr(-int64(e)) }

// isRestart reports whether e is one of the ERESTART* codes.
func isRestart(e linux.Errno) bool {
	switch e {
	case linux.ERESTARTSYS, linux.ERESTARTNOINTR, linux.ERESTARTNOHAND, linux.ERESTART_RESTARTBLOCK:
		return true
	}
	return false
}

// logUnknown logs an unimplemented syscall once per name.
func (t *Task) logUnknown(nr uintptr) {
	name := syscallName(nr)
	if _, dup := t.k.unknown.LoadOrStore(name, true); !dup {
		t.Debugf("unimplemented syscall %s (%d): ENOSYS", name, nr)
	}
}

// Block waits until ch is readable or closed, or a signal arrives
// (linux.ERESTARTSYS).
func (t *Task) Block(ch <-chan struct{}) error {
	return t.block(ch, nil)
}

// BlockUntil is Block with a deadline: linux.ETIMEDOUT when it passes first.
func (t *Task) BlockUntil(ch <-chan struct{}, deadline time.Time) error {
	d := time.Until(deadline)
	if d <= 0 {
		select {
		case <-ch:
			return nil
		default:
			return linux.ETIMEDOUT
		}
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	return t.block(ch, timer.C)
}

func (t *Task) block(ch <-chan struct{}, timeout <-chan time.Time) error {
	start := time.Now()
	t.blocked.Store(true)
	defer func() {
		t.blocked.Store(false)
		t.blockedNanos += time.Since(start)
	}()
	for {
		// Drop a stale wake-up, then look: a signal sent from now on
		// leaves a fresh one.
		select {
		case <-t.interrupt:
		default:
		}
		t.k.mu.Lock()
		intr := t.interruptedLocked()
		t.k.mu.Unlock()
		if intr {
			return linux.ERESTARTSYS
		}
		select {
		case <-ch:
			return nil
		case <-timeout:
			return linux.ETIMEDOUT
		case <-t.interrupt:
		}
	}
}

// SetRestartBlock sets what restart_syscall runs after a syscall returned
// linux.ERESTART_RESTARTBLOCK and no handler interrupted it.
func (t *Task) SetRestartBlock(fn SyscallFn) { t.restartBlock = fn }

// RestartSyscall implements restart_syscall.
func (t *Task) RestartSyscall(args SyscallArguments) (uintptr, error) {
	fn := t.restartBlock
	t.restartBlock = nil
	if fn == nil {
		return 0, linux.EINTR
	}
	return fn(t, args)
}

// syscallName returns the name of syscall nr, or "syscall_<nr>".
func syscallName(nr uintptr) string {
	if name, ok := linux.SyscallNames[nr]; ok {
		return name
	}
	return "syscall_" + strconv.FormatUint(uint64(nr), 10)
}
