package kernel

import (
	"testing"
	"time"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/kernel/auth"
)

func TestPendingSignalsOrderAndMerging(t *testing.T) {
	var p pendingSignals
	if !p.enqueue(userInfo(linux.SIGTERM, 1, 0)) {
		t.Fatal("first SIGTERM not queued")
	}
	if p.enqueue(userInfo(linux.SIGTERM, 2, 0)) {
		t.Error("second SIGTERM queued; standard signals must merge")
	}
	rt := linux.SIGRTMIN + 2
	p.enqueue(userInfo(rt, 1, 0))
	p.enqueue(userInfo(rt, 2, 0))
	p.enqueue(userInfo(linux.SIGINT, 1, 0))
	p.enqueue(faultInfo(linux.SIGSEGV, linux.SEGV_MAPERR, 0xdead))

	want := []int{linux.SIGSEGV, linux.SIGINT, linux.SIGTERM, rt, rt}
	for i, w := range want {
		info, ok := p.dequeue(0)
		if !ok || int(info.Signo) != w {
			t.Fatalf("dequeue %d = %d, %v; want %d", i, info.Signo, ok, w)
		}
	}
	if _, ok := p.dequeue(0); ok || p.set != 0 {
		t.Errorf("queue not empty: set %#x", p.set)
	}
}

func TestPendingSignalsMaskAndDiscard(t *testing.T) {
	var p pendingSignals
	p.enqueue(userInfo(linux.SIGUSR1, 1, 0))
	p.enqueue(userInfo(linux.SIGUSR2, 1, 0))
	if info, ok := p.dequeue(sigBit(linux.SIGUSR1)); !ok || info.Signo != linux.SIGUSR2 {
		t.Fatalf("masked dequeue got %d, %v; want SIGUSR2", info.Signo, ok)
	}
	if _, ok := p.dequeue(sigBit(linux.SIGUSR1)); ok {
		t.Fatal("blocked SIGUSR1 dequeued")
	}
	p.discard(sigBit(linux.SIGUSR1))
	if p.set != 0 || p.queue[linux.SIGUSR1-1] != nil {
		t.Errorf("discard left %#x", p.set)
	}
}

func TestDefaultActions(t *testing.T) {
	cases := map[int]defaultAction{
		linux.SIGTERM: actTerm, linux.SIGKILL: actTerm, linux.SIGSEGV: actCore,
		linux.SIGQUIT: actCore, linux.SIGCHLD: actIgnore, linux.SIGWINCH: actIgnore,
		linux.SIGSTOP: actStop, linux.SIGTSTP: actStop, linux.SIGCONT: actContinue,
		linux.SIGRTMIN + 1: actTerm,
	}
	for sig, want := range cases {
		if got := defaultActionOf(sig); got != want {
			t.Errorf("defaultActionOf(%s) = %d, want %d", signalName(sig), got, want)
		}
	}
}

func TestIgnoredSignalsAreDropped(t *testing.T) {
	k := newTestKernel(t)
	init := newTestProcess(t, k, nil, nil)
	child := newTestProcess(t, k, init.tg, nil)

	if err := init.Kill(child.tg.pid, linux.SIGCHLD); err != nil {
		t.Fatalf("kill: %v", err)
	}
	if g, _ := pending(child); g != 0 {
		t.Errorf("default-ignored SIGCHLD queued: %#x", g)
	}
	// A blocked signal is kept even when ignored: it may be unblocked after
	// the action changes.
	child.SigProcMask(linux.SIG_BLOCK, ptr(linux.SignalSet(sigBit(linux.SIGCHLD))))
	init.Kill(child.tg.pid, linux.SIGCHLD)
	if g, _ := pending(child); g != uint64(sigBit(linux.SIGCHLD)) {
		t.Errorf("blocked SIGCHLD not queued: %#x", g)
	}
	// Setting SIG_IGN discards what is pending.
	child.SigAction(linux.SIGCHLD, &linux.SigAction{Handler: linux.SIG_IGN})
	if g, _ := pending(child); g != 0 {
		t.Errorf("SIG_IGN left %#x pending", g)
	}
}

func ptr[T any](v T) *T { return &v }

func TestInitIsProtected(t *testing.T) {
	k := newTestKernel(t)
	init := newTestProcess(t, k, nil, nil)
	child := newTestProcess(t, k, init.tg, nil)

	// From inside the sandbox, not even SIGKILL reaches an init that has
	// no handler.
	for _, sig := range []int{linux.SIGTERM, linux.SIGKILL} {
		if err := child.Kill(1, sig); err != nil {
			t.Fatalf("kill(1, %d): %v", sig, err)
		}
	}
	if g, _ := pending(init); g != 0 {
		t.Errorf("init got %#x from inside", g)
	}
	// From the host: SIGKILL is delivered, SIGTERM without handler is not.
	k.Signal(1, linux.SIGTERM)
	if g, _ := pending(init); g != 0 {
		t.Errorf("init got SIGTERM without a handler: %#x", g)
	}
	k.Signal(1, linux.SIGKILL)
	if g, _ := pending(init); g != uint64(sigBit(linux.SIGKILL)) {
		t.Errorf("init did not get SIGKILL from the host: %#x", g)
	}
	// With a handler, SIGTERM from inside is delivered.
	init.SigAction(linux.SIGTERM, &linux.SigAction{Handler: 0x1000, Flags: linux.SA_RESTORER})
	child.Kill(1, linux.SIGTERM)
	if g, _ := pending(init); g&uint64(sigBit(linux.SIGTERM)) == 0 {
		t.Errorf("handled SIGTERM not delivered to init: %#x", g)
	}
}

func TestKillTargets(t *testing.T) {
	k := newTestKernel(t)
	init := newTestProcess(t, k, nil, nil)
	a := newTestProcess(t, k, init.tg, nil)
	b := newTestProcess(t, k, init.tg, nil)
	c := newTestProcess(t, k, init.tg, nil)
	// b and c form their own group.
	if err := b.SetPGID(0, 0); err != nil {
		t.Fatalf("setpgid: %v", err)
	}
	if err := c.SetPGID(0, b.tg.pid); err != nil {
		t.Fatalf("setpgid into b's group: %v", err)
	}
	usr1 := uint64(sigBit(linux.SIGUSR1))

	if err := a.Kill(-b.tg.pid, linux.SIGUSR1); err != nil {
		t.Fatalf("kill(-pgid): %v", err)
	}
	for _, task := range []*Task{b, c} {
		if g, _ := pending(task); g != usr1 {
			t.Errorf("pid %d: pending %#x after kill(-pgid)", task.tg.pid, g)
		}
	}
	if g, _ := pending(a); g != 0 {
		t.Errorf("sender got its own group signal: %#x", g)
	}
	// kill(-1): everyone except the init and the caller.
	if err := b.Kill(-1, linux.SIGUSR2); err != nil {
		t.Fatalf("kill(-1): %v", err)
	}
	usr2 := uint64(sigBit(linux.SIGUSR2))
	if g, _ := pending(a); g != usr2 {
		t.Errorf("kill(-1) missed pid %d: %#x", a.tg.pid, g)
	}
	if g, _ := pending(b); g&usr2 != 0 {
		t.Error("kill(-1) signalled the caller")
	}
	if err := a.Kill(12345, 0); err != linux.ESRCH {
		t.Errorf("kill(missing) = %v, want ESRCH", err)
	}
	if err := a.Kill(-999, linux.SIGUSR1); err != linux.ESRCH {
		t.Errorf("kill(empty group) = %v, want ESRCH", err)
	}
	if err := a.Kill(b.tg.pid, 65); err != linux.EINVAL {
		t.Errorf("kill(sig 65) = %v, want EINVAL", err)
	}
}

func TestKillPermission(t *testing.T) {
	k := newTestKernel(t)
	init := newTestProcess(t, k, nil, nil)
	user := newTestProcess(t, k, init.tg, auth.NewUserCredentials(1000, 1000, nil))
	other := newTestProcess(t, k, init.tg, auth.NewUserCredentials(1001, 1001, nil))
	if err := user.Kill(other.tg.pid, linux.SIGTERM); err != linux.EPERM {
		t.Errorf("kill of another user = %v, want EPERM", err)
	}
	// SIGCONT is allowed within the session.
	if err := user.Kill(other.tg.pid, linux.SIGCONT); err != nil {
		t.Errorf("SIGCONT in the session = %v", err)
	}
	if err := init.Kill(user.tg.pid, linux.SIGTERM); err != nil {
		t.Errorf("root kill = %v", err)
	}
}

func TestStopAndContinue(t *testing.T) {
	k := newTestKernel(t)
	init := newTestProcess(t, k, nil, nil)
	child := newTestProcess(t, k, init.tg, nil)

	// A pending stop signal is cancelled by SIGCONT and vice versa.
	child.SigProcMask(linux.SIG_BLOCK, ptr(linux.SignalSet(sigBit(linux.SIGTSTP)|sigBit(linux.SIGCONT))))
	init.Kill(child.tg.pid, linux.SIGTSTP)
	init.Kill(child.tg.pid, linux.SIGCONT)
	if g, _ := pending(child); g != uint64(sigBit(linux.SIGCONT)) {
		t.Errorf("after TSTP+CONT pending = %#x, want only SIGCONT", g)
	}
	init.Kill(child.tg.pid, linux.SIGTSTP)
	if g, _ := pending(child); g != uint64(sigBit(linux.SIGTSTP)) {
		t.Errorf("after CONT+TSTP pending = %#x, want only SIGTSTP", g)
	}

	// Apply a stop as the delivery path does, then see wait and SIGCONT.
	k.mu.Lock()
	k.stopGroupLocked(child.tg, linux.SIGSTOP)
	k.mu.Unlock()
	if g, _ := pending(init); g&uint64(sigBit(linux.SIGCHLD)) != 0 {
		t.Error("SIGCHLD for a stop queued although the init ignores it by default")
	}
	res, err := init.Wait(WaitTarget{Type: linux.P_ALL}, linux.WUNTRACED|linux.WNOHANG)
	if err != nil || res == nil || res.PID != child.tg.pid || res.Status != 0x137f {
		t.Fatalf("wait WUNTRACED = %+v, %v; want stop status 0x137f", res, err)
	}
	res, _ = init.Wait(WaitTarget{Type: linux.P_ALL}, linux.WUNTRACED|linux.WNOHANG)
	if res != nil {
		t.Error("stop reported twice")
	}
	init.Kill(child.tg.pid, linux.SIGCONT)
	if child.tg.State() == "T" {
		t.Error("still stopped after SIGCONT")
	}
	res, err = init.Wait(WaitTarget{Type: linux.P_PID, ID: child.tg.pid}, linux.WCONTINUED|linux.WNOHANG)
	if err != nil || res == nil || res.Status != 0xffff || res.Code != linux.CLD_CONTINUED {
		t.Fatalf("wait WCONTINUED = %+v, %v", res, err)
	}
}

func TestBlockInterruptedBySignal(t *testing.T) {
	k := newTestKernel(t)
	init := newTestProcess(t, k, nil, nil)
	child := newTestProcess(t, k, init.tg, nil)

	ch := make(chan struct{})
	close(ch)
	if err := child.Block(ch); err != nil {
		t.Fatalf("Block on a closed channel = %v", err)
	}

	done := make(chan error, 1)
	go func() { done <- child.Block(make(chan struct{})) }()
	time.Sleep(20 * time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("Block returned early: %v", err)
	default:
	}
	init.Kill(child.tg.pid, linux.SIGUSR1)
	select {
	case err := <-done:
		if err != linux.ERESTARTSYS {
			t.Errorf("Block = %v, want ERESTARTSYS", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Block not interrupted by a signal")
	}
	if n := child.ctx.(*fakeContext).interrupts.Load(); n == 0 {
		t.Error("the platform context was not interrupted")
	}

	// A blocked signal does not interrupt; BlockUntil times out.
	child.SigProcMask(linux.SIG_SETMASK, ptr(linux.SignalSet(sigBit(linux.SIGUSR1))))
	err := child.BlockUntil(make(chan struct{}), time.Now().Add(20*time.Millisecond))
	if err != linux.ETIMEDOUT {
		t.Errorf("BlockUntil with only a blocked signal pending = %v, want ETIMEDOUT", err)
	}
}

func TestSigactionRules(t *testing.T) {
	k := newTestKernel(t)
	task := newTestProcess(t, k, nil, nil)
	if _, err := task.SigAction(linux.SIGKILL, &linux.SigAction{Handler: linux.SIG_IGN}); err != linux.EINVAL {
		t.Errorf("sigaction(SIGKILL) = %v, want EINVAL", err)
	}
	if _, err := task.SigAction(0, nil); err != linux.EINVAL {
		t.Errorf("sigaction(0) = %v, want EINVAL", err)
	}
	act := linux.SigAction{Handler: 0x401000, Flags: linux.SA_RESTORER, Mask: ^linux.SignalSet(0)}
	task.SigAction(linux.SIGINT, &act)
	old, _ := task.SigAction(linux.SIGINT, nil)
	if old.Handler != act.Handler || old.Mask&unblockable != 0 {
		t.Errorf("stored action %+v: handler lost or SIGKILL/SIGSTOP in mask", old)
	}
	task.SigProcMask(linux.SIG_SETMASK, ptr(^linux.SignalSet(0)))
	if m := task.SignalMask(); m&unblockable != 0 {
		t.Errorf("mask %#x blocks SIGKILL/SIGSTOP", m)
	}
	if _, err := task.SigProcMask(7, ptr(linux.SignalSet(0))); err != linux.EINVAL {
		t.Errorf("bad how = %v", err)
	}
}

func TestSigAltStack(t *testing.T) {
	k := newTestKernel(t)
	task := newTestProcess(t, k, nil, nil)
	task.altStack = linux.SignalStack{Flags: linux.SS_DISABLE}
	old, err := task.SigAltStack(nil)
	if err != nil || old.Flags != linux.SS_DISABLE {
		t.Fatalf("initial altstack = %+v, %v", old, err)
	}
	if _, err := task.SigAltStack(&linux.SignalStack{Addr: 0x10000, Size: 100}); err != linux.ENOMEM {
		t.Errorf("tiny altstack = %v, want ENOMEM", err)
	}
	if _, err := task.SigAltStack(&linux.SignalStack{Addr: 0x10000, Size: 0x4000}); err != nil {
		t.Fatalf("sigaltstack: %v", err)
	}
	task.regs.Rsp = 0x12000
	old, _ = task.SigAltStack(nil)
	if old.Flags != linux.SS_ONSTACK || old.Addr != 0x10000 {
		t.Errorf("on the stack, altstack = %+v, want SS_ONSTACK", old)
	}
	if _, err := task.SigAltStack(&linux.SignalStack{Flags: linux.SS_DISABLE}); err != linux.EPERM {
		t.Errorf("changing the stack in use = %v, want EPERM", err)
	}
}

func TestRealTimerSendsSIGALRM(t *testing.T) {
	k := newTestKernel(t)
	init := newTestProcess(t, k, nil, nil)
	init.SigAction(linux.SIGALRM, &linux.SigAction{Handler: 0x1000, Flags: linux.SA_RESTORER})
	if old, _ := init.SetRealTimer(30*time.Millisecond, 0); old != 0 {
		t.Errorf("old value %v of an unarmed timer", old)
	}
	if v, _ := init.RealTimer(); v <= 0 || v > 30*time.Millisecond {
		t.Errorf("remaining %v", v)
	}
	err := init.BlockUntil(make(chan struct{}), time.Now().Add(5*time.Second))
	if err != linux.ERESTARTSYS {
		t.Fatalf("BlockUntil = %v, want ERESTARTSYS from SIGALRM", err)
	}
	if g, _ := pending(init); g != uint64(sigBit(linux.SIGALRM)) {
		t.Errorf("pending %#x, want SIGALRM", g)
	}
	if v, _ := init.RealTimer(); v != 0 {
		t.Errorf("one-shot timer still armed: %v", v)
	}
}
