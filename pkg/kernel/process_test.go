package kernel

import (
	"syscall"
	"testing"
	"time"
	"unsafe"

	"bulwark.dev/pkg/abi/linux"
)

func TestWaitStatusEncoding(t *testing.T) {
	cases := []struct {
		st   ExitStatus
		want uint32
	}{
		{ExitStatus{Code: 0}, 0},
		{ExitStatus{Code: 3}, 0x300},
		{ExitStatus{Code: 255}, 0xff00},
		{ExitStatus{Signo: linux.SIGKILL}, 9},
		{ExitStatus{Signo: linux.SIGSEGV, Cored: true}, 0x8b},
	}
	for _, c := range cases {
		got := c.st.WaitStatus()
		if got != c.want {
			t.Errorf("%+v.WaitStatus() = %#x, want %#x", c.st, got, c.want)
		}
		ws := syscall.WaitStatus(got)
		if c.st.Signo == 0 && (!ws.Exited() || ws.ExitStatus() != c.st.Code) {
			t.Errorf("%#x does not decode as exit %d", got, c.st.Code)
		}
		if c.st.Signo != 0 && (!ws.Signaled() || int(ws.Signal()) != c.st.Signo || ws.CoreDump() != c.st.Cored) {
			t.Errorf("%#x does not decode as signal %d core %v", got, c.st.Signo, c.st.Cored)
		}
	}
	ws := syscall.WaitStatus(stoppedStatus(linux.SIGTSTP))
	if !ws.Stopped() || ws.StopSignal() != syscall.SIGTSTP {
		t.Errorf("stopped status %#x does not decode", uint32(ws))
	}
	if !syscall.WaitStatus(continuedStatus).Continued() {
		t.Error("continued status does not decode")
	}
	if (ExitStatus{Signo: 15}).ShellCode() != 143 || (ExitStatus{Code: 2}).ShellCode() != 2 {
		t.Error("ShellCode wrong")
	}
}

func TestPIDAllocation(t *testing.T) {
	k := newTestKernel(t)
	init := newTestProcess(t, k, nil, nil)
	a := newTestProcess(t, k, init.tg, nil)
	if init.tg.pid != 1 || a.tg.pid != 2 {
		t.Fatalf("pids %d, %d; want 1, 2", init.tg.pid, a.tg.pid)
	}
	// Wrap around, skipping ids in use (as pid, or as a process group).
	k.mu.Lock()
	a.tg.pgid = 3
	k.lastPID = maxPID - 1
	p1, _ := k.allocPIDLocked()
	p2, _ := k.allocPIDLocked()
	k.mu.Unlock()
	if p1 != 4 || p2 != 5 {
		t.Errorf("after wrap got %d, %d; want 4, 5 (1-3 in use)", p1, p2)
	}
}

func TestExitWaitAndReap(t *testing.T) {
	k := newTestKernel(t)
	init := newTestProcess(t, k, nil, nil)
	child := newTestProcess(t, k, init.tg, nil)
	pid := child.tg.pid

	if res, err := init.Wait(WaitTarget{Type: linux.P_ALL}, linux.WEXITED|linux.WNOHANG); res != nil || err != nil {
		t.Fatalf("WNOHANG with a live child = %+v, %v", res, err)
	}
	// Let the init catch SIGCHLD so it is queued.
	init.SigAction(linux.SIGCHLD, &linux.SigAction{Handler: 0x1000, Flags: linux.SA_RESTORER})

	done := make(chan *WaitResult, 1)
	go func() {
		res, err := init.Wait(WaitTarget{Type: linux.P_ALL}, linux.WEXITED)
		if err != nil {
			t.Errorf("wait: %v", err)
		}
		done <- res
	}()
	time.Sleep(10 * time.Millisecond)
	child.ExitGroup(7)
	child.exit()

	select {
	case res := <-done:
		if res == nil || res.PID != pid || res.Status != 0x700 || res.Code != linux.CLD_EXITED || res.SiStatus != 7 {
			t.Fatalf("wait = %+v; want pid %d status 0x700", res, pid)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("wait did not return after the child exited")
	}
	if g, _ := pending(init); g&uint64(sigBit(linux.SIGCHLD)) == 0 {
		t.Error("no SIGCHLD for the parent")
	}
	if k.ThreadGroup(pid) != nil {
		t.Error("child not reaped")
	}
	if st := child.tg.Wait(); st.Code != 7 {
		t.Errorf("ThreadGroup.Wait = %+v", st)
	}
	if _, err := init.Wait(WaitTarget{Type: linux.P_ALL}, linux.WEXITED); err != linux.ECHILD {
		t.Errorf("wait without children = %v, want ECHILD", err)
	}
}

func TestWaitNoWaitAndSelectors(t *testing.T) {
	k := newTestKernel(t)
	init := newTestProcess(t, k, nil, nil)
	a := newTestProcess(t, k, init.tg, nil)
	b := newTestProcess(t, k, init.tg, nil)
	b.SetPGID(0, 0)
	a.ExitGroup(1)
	a.exit()

	if _, err := init.Wait(WaitTarget{Type: linux.P_PID, ID: 999}, linux.WEXITED); err != linux.ECHILD {
		t.Errorf("wait for a non-child = %v, want ECHILD", err)
	}
	if res, _ := init.Wait(WaitTarget{Type: linux.P_PGID, ID: b.tg.pid}, linux.WEXITED|linux.WNOHANG); res != nil {
		t.Errorf("pgid selector matched the wrong child: %+v", res)
	}
	res, err := init.Wait(WaitTarget{Type: linux.P_PID, ID: a.tg.pid}, linux.WEXITED|linux.WNOWAIT)
	if err != nil || res == nil || res.PID != a.tg.pid {
		t.Fatalf("WNOWAIT = %+v, %v", res, err)
	}
	if k.ThreadGroup(a.tg.pid) == nil {
		t.Fatal("WNOWAIT reaped the child")
	}
	// __WCLONE only sees children with a non-SIGCHLD exit signal.
	if _, err := init.Wait(WaitTarget{Type: linux.P_PID, ID: a.tg.pid}, linux.WEXITED|linux.WCLONE); err != linux.ECHILD {
		t.Errorf("__WCLONE matched a SIGCHLD child: %v", err)
	}
	if res, _ := init.Wait(WaitTarget{Type: linux.P_PID, ID: a.tg.pid}, linux.WEXITED|linux.WALL); res == nil {
		t.Error("__WALL did not reap the zombie")
	}
	if _, err := init.Wait(WaitTarget{Type: linux.P_ALL}, 0); err != linux.EINVAL {
		t.Errorf("wait without event options = %v, want EINVAL", err)
	}
}

func TestAutoReapWithIgnoredSIGCHLD(t *testing.T) {
	k := newTestKernel(t)
	init := newTestProcess(t, k, nil, nil)
	init.SigAction(linux.SIGCHLD, &linux.SigAction{Handler: linux.SIG_IGN})
	child := newTestProcess(t, k, init.tg, nil)
	child.ExitGroup(0)
	child.exit()
	if k.ThreadGroup(child.tg.pid) != nil {
		t.Error("child of a SIGCHLD-ignoring parent left a zombie")
	}
	if _, err := init.Wait(WaitTarget{Type: linux.P_ALL}, linux.WEXITED); err != linux.ECHILD {
		t.Errorf("wait = %v, want ECHILD", err)
	}
}

func TestOrphansAndInitDeath(t *testing.T) {
	k := newTestKernel(t)
	init := newTestProcess(t, k, nil, nil)
	mid := newTestProcess(t, k, init.tg, nil)
	grand := newTestProcess(t, k, mid.tg, nil)

	mid.ExitGroup(0)
	mid.exit()
	if p := grand.tg.PPID(); p != 1 {
		t.Errorf("orphan's parent = %d, want 1", p)
	}
	// The init exits: everybody else gets SIGKILL.
	init.ExitGroup(3)
	init.exit()
	if g, _ := pending(grand); g != uint64(sigBit(linux.SIGKILL)) {
		t.Errorf("orphan pending %#x after the init died, want SIGKILL", g)
	}
	if st := init.tg.Wait(); st.Code != 3 {
		t.Errorf("init status %+v", st)
	}
	if k.ThreadGroup(1) != nil {
		t.Error("parentless init not reaped")
	}
}

func TestSessionsAndGroups(t *testing.T) {
	k := newTestKernel(t)
	init := newTestProcess(t, k, nil, nil)
	child := newTestProcess(t, k, init.tg, nil)

	if _, err := init.SetSID(); err != linux.EPERM {
		t.Errorf("setsid by a group leader = %v, want EPERM", err)
	}
	if err := init.SetPGID(0, 0); err != linux.EPERM {
		t.Errorf("setpgid of a session leader = %v, want EPERM", err)
	}
	if err := child.SetPGID(0, 4242); err != linux.EPERM {
		t.Errorf("setpgid into a missing group = %v, want EPERM", err)
	}
	sid, err := child.SetSID()
	if err != nil || sid != child.tg.pid {
		t.Fatalf("setsid = %d, %v", sid, err)
	}
	if g, _ := child.GetPGID(0); g != sid {
		t.Errorf("pgid after setsid = %d", g)
	}
	if s, _ := init.GetSID(child.tg.pid); s != sid {
		t.Errorf("getsid = %d", s)
	}
	if err := init.SetPGID(child.tg.pid, 0); err != linux.EPERM {
		t.Errorf("setpgid of a child in another session = %v, want EPERM", err)
	}
	other := newTestProcess(t, k, init.tg, nil)
	k.mu.Lock()
	other.tg.execed = true
	k.mu.Unlock()
	if err := init.SetPGID(other.tg.pid, 0); err != linux.EACCES {
		t.Errorf("setpgid of an exec'd child = %v, want EACCES", err)
	}
	if _, err := init.GetPGID(777); err != linux.ESRCH {
		t.Errorf("getpgid(missing) = %v", err)
	}
}

func TestCredentialRules(t *testing.T) {
	k := newTestKernel(t)
	task := newTestProcess(t, k, nil, nil)
	if err := task.SetRESUID(1000, 1000, noID); err != nil {
		t.Fatalf("root setresuid: %v", err)
	}
	c := task.Credentials()
	if c.RealUID != 1000 || c.EffectiveUID != 1000 || c.SavedUID != 0 || c.EffectiveCaps != 0 {
		t.Errorf("after setresuid(1000,1000,-1): %+v", c)
	}
	// The saved uid 0 lets it return to root and regain its capabilities.
	if err := task.SetUID(0); err != nil {
		t.Fatalf("setuid(0) with saved uid 0: %v", err)
	}
	if c := task.Credentials(); c.EffectiveUID != 0 || c.EffectiveCaps == 0 {
		t.Errorf("effective root not restored: %+v", c)
	}
	task.SetUID(1000) // root: all three
	if c := task.Credentials(); c.SavedUID != 1000 || c.PermittedCaps != 0 {
		t.Errorf("setuid as root did not drop everything: %+v", c)
	}
	if err := task.SetUID(0); err != linux.EPERM {
		t.Errorf("unprivileged setuid(0) = %v, want EPERM", err)
	}
	if err := task.SetGroups([]uint32{1}); err != linux.EPERM {
		t.Errorf("unprivileged setgroups = %v", err)
	}
}

func TestPrlimit(t *testing.T) {
	k := newTestKernel(t)
	task := newTestProcess(t, k, nil, nil)
	old, err := task.Prlimit(0, linux.RLIMIT_NOFILE, &Rlimit{Cur: 512, Max: 4096})
	if err != nil || old.Cur != 1024 {
		t.Fatalf("prlimit = %+v, %v", old, err)
	}
	if got := task.tg.Limit(linux.RLIMIT_NOFILE); got.Cur != 512 || got.Max != 4096 {
		t.Errorf("limit = %+v", got)
	}
	if _, err := task.Prlimit(0, linux.RLIMIT_NOFILE, &Rlimit{Cur: 10, Max: 5}); err != linux.EINVAL {
		t.Errorf("cur > max = %v", err)
	}
	if _, err := task.Prlimit(0, 99, nil); err != linux.EINVAL {
		t.Errorf("bad resource = %v", err)
	}
	task.SetRESUID(1, 1, 1)
	if _, err := task.Prlimit(0, linux.RLIMIT_NOFILE, &Rlimit{Cur: 10, Max: 8192}); err != linux.EPERM {
		t.Errorf("raising the hard limit unprivileged = %v, want EPERM", err)
	}
}

func TestABILayout(t *testing.T) {
	sizes := []struct {
		name      string
		got, want uintptr
	}{
		{"SignalInfo", unsafe.Sizeof(linux.SignalInfo{}), 128},
		{"SigContext", unsafe.Sizeof(linux.SigContext{}), 256},
		{"UContext", unsafe.Sizeof(linux.UContext{}), 304},
		{"RtSigFrame", unsafe.Sizeof(linux.RtSigFrame{}), 440},
		{"SigAction", unsafe.Sizeof(linux.SigAction{}), 32},
		{"SignalStack", unsafe.Sizeof(linux.SignalStack{}), 24},
		{"Rusage", unsafe.Sizeof(linux.Rusage{}), 144},
		{"Sysinfo", unsafe.Sizeof(linux.Sysinfo{}), 112},
		{"Utsname", unsafe.Sizeof(linux.Utsname{}), 390},
		{"offset uc", offsetOfUC, 8},
		{"offset info", offsetOfInfo, 312},
		{"offset uc_mcontext", unsafe.Offsetof(linux.UContext{}.MContext), 40},
		{"offset uc_sigmask", unsafe.Offsetof(linux.UContext{}.Sigmask), 296},
		{"offset sc rip", unsafe.Offsetof(linux.SigContext{}.Rip), 128},
		{"offset sc cs", unsafe.Offsetof(linux.SigContext{}.Cs), 144},
		{"offset sc fpstate", unsafe.Offsetof(linux.SigContext{}.Fpstate), 184},
	}
	for _, s := range sizes {
		if s.got != s.want {
			t.Errorf("%s = %d, want %d", s.name, s.got, s.want)
		}
	}
}
