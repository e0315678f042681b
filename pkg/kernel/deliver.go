package kernel

import (
	"bulwark.dev/pkg/abi/linux"
)

// redZone is the area below rsp the x86-64 ABI lets leaf functions use.
const redZone = 128

// deliverSignals runs before every return to application code: it handles
// group exit and stop, takes pending signals one by one and applies their
// actions, building a frame for each handled one, and finally restarts an
// interrupted syscall no handler consumed. It reports false when the task
// must exit.
func (t *Task) deliverSignals() bool {
	k := t.k
	for {
		k.mu.Lock()
		if t.tg.exiting || t.exitRequested || t.mustDieForExecLocked() {
			k.mu.Unlock()
			return false
		}
		if t.tg.stopped && t.tg.execing == nil {
			k.mu.Unlock()
			t.waitWhileStopped()
			continue
		}
		if k.frozen() {
			// Signals stay pending while frozen (freeze.go).
			k.mu.Unlock()
			t.holdWhileFrozen()
			continue
		}
		info, ok := t.dequeueLocked(t.mask)
		if !ok {
			if t.haveSavedMask {
				t.setMaskLocked(t.savedMask)
				t.haveSavedMask = false
			}
			k.mu.Unlock()
			break
		}
		sig := int(info.Signo)
		act := t.tg.actions[sig-1]
		switch act.Handler {
		case linux.SIG_IGN:
			k.mu.Unlock()
			continue
		case linux.SIG_DFL:
			if t.tg.isInit() && sig != linux.SIGKILL && sig != linux.SIGSTOP &&
				sigBit(sig)&synchronousSigs == 0 {
				// A signal queued while blocked: the init is
				// protected from its default action.
				k.mu.Unlock()
				continue
			}
			if !t.defaultActionLocked(sig) {
				k.mu.Unlock()
				return false
			}
			k.mu.Unlock()
			continue
		}
		// A handler runs: it gets the mask from before, which
		// rt_sigreturn restores.
		oldMask := t.mask
		if t.haveSavedMask {
			oldMask = t.savedMask
			t.haveSavedMask = false
		}
		newMask := t.mask | act.Mask
		if act.Flags&linux.SA_NODEFER == 0 {
			newMask |= sigBit(sig)
		}
		t.setMaskLocked(newMask)
		if act.Flags&linux.SA_RESETHAND != 0 {
			t.tg.actions[sig-1] = linux.SigAction{}
		}
		k.mu.Unlock()

		t.restartForHandler(act)
		if err := t.pushFrame(info, act, oldMask); err != nil {
			t.Debugf("delivering %s: cannot build frame: %v", signalName(sig), err)
			k.mu.Lock()
			if sig == linux.SIGSEGV {
				t.tg.actions[sig-1] = linux.SigAction{}
			}
			t.forceSignalLocked(kernelInfo(linux.SIGSEGV))
			k.mu.Unlock()
		}
	}
	t.restartWithoutHandler()
	return true
}

// defaultActionLocked applies sig's default action. It reports false when
// the process is exiting.
func (t *Task) defaultActionLocked(sig int) bool {
	switch defaultActionOf(sig) {
	case actIgnore, actContinue:
		return true
	case actStop:
		// Job-control stops of an orphaned process group are
		// discarded: nobody would continue it.
		if sig != linux.SIGSTOP && t.k.orphanedPgrpLocked(t.tg.pgid) {
			return true
		}
		t.k.stopGroupLocked(t.tg, sig)
		return true
	case actCore:
		// Like Linux, the core flag says a dump was allowed by
		// RLIMIT_CORE (no core file is written).
		cored := t.tg.Limit(linux.RLIMIT_CORE).Cur != 0
		t.k.exitGroupLocked(t.tg, ExitStatus{Signo: sig, Cored: cored})
	default:
		t.k.exitGroupLocked(t.tg, ExitStatus{Signo: sig})
	}
	return false
}

// stopGroupLocked puts tg in a group stop and tells the parent.
func (k *Kernel) stopGroupLocked(tg *ThreadGroup, sig int) {
	tg.stopped = true
	tg.stopSignal = sig
	tg.stopReport = true
	tg.contReport = false
	k.notifyParentStopLocked(tg, linux.CLD_STOPPED, sig)
	tg.wakeAllLocked()
}

// waitWhileStopped sleeps until the group is continued or killed.
func (t *Task) waitWhileStopped() {
	k := t.k
	t.blocked.Store(true)
	defer t.blocked.Store(false)
	for {
		k.mu.Lock()
		stop := t.tg.stopped && !t.tg.exiting && t.tg.execing == nil &&
			(t.pending.set|t.tg.pending.set)&sigBit(linux.SIGKILL) == 0
		k.mu.Unlock()
		if !stop {
			return
		}
		<-t.interrupt
	}
}

// restartForHandler resolves an ERESTART* result before a handler frame is
// built: the syscall restarts when it is allowed to, else fails with EINTR.
func (t *Task) restartForHandler(act linux.SigAction) {
	code := t.restartErr
	if code == 0 {
		return
	}
	t.restartErr = 0
	restart := code == linux.ERESTARTNOINTR ||
		(code == linux.ERESTARTSYS && act.Flags&linux.SA_RESTART != 0)
	if restart {
		t.regs.Rax = t.regs.Orig_rax
		t.regs.Rip -= 2
		return
	}
	t.regs.Rax = uint64(errnoRet(linux.EINTR))
}

// restartWithoutHandler restarts an interrupted syscall when no handler ran.
func (t *Task) restartWithoutHandler() {
	code := t.restartErr
	if code == 0 {
		return
	}
	t.restartErr = 0
	t.regs.Rip -= 2
	if code == linux.ERESTART_RESTARTBLOCK {
		t.regs.Rax = linux.SYS_RESTART_SYSCALL
		return
	}
	t.regs.Rax = t.regs.Orig_rax
}

// pushFrame builds an rt_sigframe on the user stack (or the alternate
// stack) and points the registers at the handler.
func (t *Task) pushFrame(info linux.SignalInfo, act linux.SigAction, oldMask linux.SignalSet) error {
	if act.Flags&linux.SA_RESTORER == 0 {
		// x86-64 has no kernel-provided return trampoline.
		return linux.EFAULT
	}
	sp := t.regs.Rsp - redZone
	onStack := t.onAltStack(t.regs.Rsp)
	if act.Flags&linux.SA_ONSTACK != 0 && t.altStack.Flags&linux.SS_DISABLE == 0 &&
		t.altStack.Size != 0 && !onStack {
		sp = t.altStack.Addr + t.altStack.Size
	}
	fpAddr, err := t.pushFPState(sp)
	if err != nil {
		return err
	}
	if fpAddr != 0 {
		sp = fpAddr
	}
	frame := linux.RtSigFrame{
		Pretcode: act.Restorer,
		UC: linux.UContext{
			Flags:    linux.UC_SIGCONTEXT_SS | linux.UC_STRICT_RESTORE_SS,
			Stack:    t.altStack,
			MContext: sigContextFromRegs(&t.regs, oldMask),
			Sigmask:  oldMask,
		},
		Info: info,
	}
	if t.altStack.Size == 0 {
		frame.UC.Stack.Flags = linux.SS_DISABLE
	}
	if t.fpContext() != nil {
		frame.UC.MContext.Fpstate = fpAddr
	}
	size := uint64(sizeOf(&frame))
	addr := ((sp - size) &^ 15) - 8
	if err := CopyObjectOut(t, uintptr(addr), &frame); err != nil {
		return err
	}
	if t.altStack.Flags&linux.SS_AUTODISARM != 0 {
		t.altStack = linux.SignalStack{Flags: linux.SS_DISABLE}
	}
	t.regs.Rsp = addr
	t.regs.Rip = act.Handler
	t.regs.Rdi = uint64(info.Signo)
	t.regs.Rsi = addr + uint64(offsetOfInfo)
	t.regs.Rdx = addr + uint64(offsetOfUC)
	t.regs.Rax = 0
	t.regs.Eflags &^= eflagsDF | eflagsTF
	return nil
}

// SigReturn implements rt_sigreturn: it restores the registers, mask and
// alternate stack saved in the frame the handler returned from (the
// handler's ret popped pretcode, so the ucontext starts at rsp). It returns
// the restored rax, which the caller stores back unchanged.
func (t *Task) SigReturn() (uintptr, error) {
	var uc linux.UContext
	if err := CopyObjectIn(t, uintptr(t.regs.Rsp), &uc); err != nil {
		t.k.mu.Lock()
		t.forceSignalLocked(kernelInfo(linux.SIGSEGV))
		t.k.mu.Unlock()
		return 0, linux.EFAULT
	}
	if err := t.restoreFPState(uc.MContext.Fpstate); err != nil {
		t.Debugf("rt_sigreturn: bad FPU state: %v", err)
		t.k.mu.Lock()
		t.forceSignalLocked(kernelInfo(linux.SIGSEGV))
		t.k.mu.Unlock()
		return 0, linux.EFAULT
	}
	regsFromSigContext(&t.regs, &uc.MContext)
	t.k.mu.Lock()
	t.setMaskLocked(uc.Sigmask)
	t.k.mu.Unlock()
	// The alternate stack is restored as sigaltstack would; a bad one is
	// ignored like Linux's restore_altstack does on error.
	if !t.onAltStack(t.regs.Rsp) {
		ss := uc.Stack
		ss.Flags &^= linux.SS_ONSTACK
		t.SigAltStack(&ss)
	}
	t.restartErr = 0
	return uintptr(t.regs.Rax), nil
}
