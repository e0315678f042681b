package kernel

import (
	"errors"
	"testing"

	"bulwark.dev/pkg/abi/linux"
)

const testTTY = 0x8801 // a terminal id, as a host tty's device number

// newJobSession builds a session leader (not the init: pid 1 is taken by
// a placeholder, since the init drops kernel signals it does not handle)
// with the terminal attached, and two children in a group of their own.
func newJobSession(t *testing.T) (k *Kernel, leader, job1, job2 *Task) {
	t.Helper()
	k = newTestKernel(t)
	newTestProcess(t, k, nil, nil) // pid 1
	leader = newTestProcess(t, k, nil, nil)
	if err := leader.tg.AttachTerminal(testTTY); err != nil {
		t.Fatalf("AttachTerminal: %v", err)
	}
	job1 = newTestProcess(t, k, leader.tg, nil)
	job2 = newTestProcess(t, k, leader.tg, nil)
	if err := job1.SetPGID(0, 0); err != nil {
		t.Fatalf("setpgid: %v", err)
	}
	if err := job2.SetPGID(0, job1.tg.pid); err != nil {
		t.Fatalf("setpgid: %v", err)
	}
	return k, leader, job1, job2
}

func TestForegroundGroupOfAttachedTerminal(t *testing.T) {
	k, leader, job1, _ := newJobSession(t)
	for _, task := range []*Task{leader, job1} {
		pg, err := task.ForegroundGroup(testTTY)
		if err != nil || pg != leader.tg.pid {
			t.Errorf("pid %d: ForegroundGroup = %d, %v; want %d", task.tg.pid, pg, err, leader.tg.pid)
		}
		if sid, err := task.TerminalSession(testTTY); err != nil || sid != leader.tg.pid {
			t.Errorf("pid %d: TerminalSession = %d, %v", task.tg.pid, sid, err)
		}
	}
	// Another session, or another terminal, is not controlled.
	other := newTestProcess(t, k, nil, nil)
	if _, err := other.ForegroundGroup(testTTY); !errors.Is(err, linux.ENOTTY) {
		t.Errorf("other session: err = %v, want ENOTTY", err)
	}
	if _, err := leader.ForegroundGroup(testTTY + 1); !errors.Is(err, linux.ENOTTY) {
		t.Errorf("other terminal: err = %v, want ENOTTY", err)
	}
	if err := other.tg.AttachTerminal(testTTY); !errors.Is(err, linux.EPERM) {
		t.Errorf("attaching a controlling terminal to a second session: %v, want EPERM", err)
	}
}

func TestSetForegroundGroupRules(t *testing.T) {
	k, leader, job1, _ := newJobSession(t)
	other := newTestProcess(t, k, nil, nil)
	cases := []struct {
		pgrp int32
		want error
	}{
		{-1, linux.EINVAL},
		{9999, linux.ESRCH},
		{other.tg.pid, linux.EPERM},
		{job1.tg.pid, nil},
	}
	for _, c := range cases {
		if err := leader.SetForegroundGroup(testTTY, c.pgrp); !errors.Is(err, c.want) && err != c.want {
			t.Errorf("SetForegroundGroup(%d) = %v, want %v", c.pgrp, err, c.want)
		}
	}
	if pg, _ := job1.ForegroundGroup(testTTY); pg != job1.tg.pid {
		t.Fatalf("foreground group = %d, want %d", pg, job1.tg.pid)
	}
	if err := other.SetForegroundGroup(testTTY, other.tg.pid); !errors.Is(err, linux.ENOTTY) {
		t.Errorf("from another session: %v, want ENOTTY", err)
	}
}

func TestBackgroundGroupGetsSIGTTOU(t *testing.T) {
	_, leader, job1, _ := newJobSession(t)
	if err := leader.SetForegroundGroup(testTTY, job1.tg.pid); err != nil {
		t.Fatal(err)
	}
	// The shell is now in the background: taking the terminal back stops
	// it with SIGTTOU unless it ignores SIGTTOU, as shells do.
	if err := leader.SetForegroundGroup(testTTY, leader.tg.pid); !errors.Is(err, linux.ERESTARTSYS) {
		t.Fatalf("background tcsetpgrp = %v, want ERESTARTSYS", err)
	}
	if g, _ := pending(leader); g&uint64(sigBit(linux.SIGTTOU)) == 0 {
		t.Errorf("SIGTTOU not pending for the background group: %#x", g)
	}
	if _, err := leader.SigAction(linux.SIGTTOU, &linux.SigAction{Handler: linux.SIG_IGN}); err != nil {
		t.Fatal(err)
	}
	if err := leader.SetForegroundGroup(testTTY, leader.tg.pid); err != nil {
		t.Fatalf("tcsetpgrp ignoring SIGTTOU = %v", err)
	}
	if pg, _ := leader.ForegroundGroup(testTTY); pg != leader.tg.pid {
		t.Errorf("foreground group = %d, want %d", pg, leader.tg.pid)
	}
}

func TestBackgroundReadGetsSIGTTIN(t *testing.T) {
	_, leader, job1, job2 := newJobSession(t)
	if err := leader.TerminalAccess(testTTY, linux.SIGTTIN); err != nil {
		t.Errorf("foreground read: %v", err)
	}
	if err := job1.TerminalAccess(testTTY, linux.SIGTTIN); !errors.Is(err, linux.ERESTARTSYS) {
		t.Fatalf("background read = %v, want ERESTARTSYS", err)
	}
	for _, task := range []*Task{job1, job2} {
		if g, _ := pending(task); g&uint64(sigBit(linux.SIGTTIN)) == 0 {
			t.Errorf("pid %d: SIGTTIN not pending: %#x", task.tg.pid, g)
		}
	}
	if g, _ := pending(leader); g != 0 {
		t.Errorf("the foreground group got signals %#x", g)
	}
	if _, err := job2.SigProcMask(linux.SIG_BLOCK, ptr(linux.SignalSet(sigBit(linux.SIGTTIN)))); err != nil {
		t.Fatal(err)
	}
	if err := job2.TerminalAccess(testTTY, linux.SIGTTIN); !errors.Is(err, linux.EIO) {
		t.Errorf("background read blocking SIGTTIN = %v, want EIO", err)
	}
}

func TestSignalForegroundReachesOnlyThatGroup(t *testing.T) {
	k, leader, job1, job2 := newJobSession(t)
	if err := leader.SetForegroundGroup(testTTY, job1.tg.pid); err != nil {
		t.Fatal(err)
	}
	if err := k.SignalForeground(testTTY, linux.SIGINT); err != nil {
		t.Fatal(err)
	}
	for _, task := range []*Task{job1, job2} {
		if g, _ := pending(task); g&uint64(sigBit(linux.SIGINT)) == 0 {
			t.Errorf("pid %d: SIGINT not pending", task.tg.pid)
		}
	}
	if g, _ := pending(leader); g != 0 {
		t.Errorf("the background shell got %#x", g)
	}
	if err := k.SignalForeground(testTTY+1, linux.SIGINT); !errors.Is(err, linux.ESRCH) {
		t.Errorf("unknown terminal: %v, want ESRCH", err)
	}
}

func TestSetControllingTerminal(t *testing.T) {
	k, leader, job1, _ := newJobSession(t)
	if err := leader.SetControllingTerminal(testTTY, false); err != nil {
		t.Errorf("TIOCSCTTY on the own terminal: %v", err)
	}
	if err := job1.SetControllingTerminal(testTTY+1, false); !errors.Is(err, linux.EPERM) {
		t.Errorf("TIOCSCTTY by a non-leader: %v, want EPERM", err)
	}
	if err := leader.SetControllingTerminal(testTTY+1, false); !errors.Is(err, linux.EPERM) {
		t.Errorf("TIOCSCTTY with a terminal already: %v, want EPERM", err)
	}
	other := newTestProcess(t, k, nil, nil)
	if err := other.SetControllingTerminal(testTTY, false); !errors.Is(err, linux.EPERM) {
		t.Errorf("TIOCSCTTY of another session's terminal: %v, want EPERM", err)
	}
	if err := other.SetControllingTerminal(testTTY, true); err != nil {
		t.Errorf("stealing with CAP_SYS_ADMIN: %v", err)
	}
	if _, err := leader.ForegroundGroup(testTTY); !errors.Is(err, linux.ENOTTY) {
		t.Errorf("after the steal the old session still has it: %v", err)
	}
	// A session whose leader exited loses its terminal.
	k.mu.Lock()
	other.tg.zombie = true
	k.mu.Unlock()
	if err := leader.SetControllingTerminal(testTTY, false); err != nil {
		t.Errorf("TIOCSCTTY after the controlling session's leader died: %v", err)
	}
}

func TestReleaseControllingTerminal(t *testing.T) {
	_, leader, job1, _ := newJobSession(t)
	if err := leader.SetForegroundGroup(testTTY, job1.tg.pid); err != nil {
		t.Fatal(err)
	}
	if err := job1.ReleaseControllingTerminal(testTTY + 1); !errors.Is(err, linux.ENOTTY) {
		t.Errorf("TIOCNOTTY of another terminal: %v", err)
	}
	if err := leader.ReleaseControllingTerminal(testTTY); err != nil {
		t.Fatal(err)
	}
	if g, _ := pending(job1); g&uint64(sigBit(linux.SIGHUP)) == 0 {
		t.Errorf("the foreground group did not get SIGHUP: %#x", g)
	}
	if _, err := leader.ForegroundGroup(testTTY); !errors.Is(err, linux.ENOTTY) {
		t.Errorf("terminal still controlling after TIOCNOTTY: %v", err)
	}
}

// ControllingTerminal and SessionTerminal (for /dev/tty and
// /proc/[pid]/stat) report the session's terminal until it hangs up;
// TerminalForeground (a pty master's TIOCGPGRP) needs no session.
func TestControllingTerminalAccessors(t *testing.T) {
	const local = LocalTerminal | 0x8800
	k, leader, job1, _ := newJobSession(t)
	if err := leader.SetForegroundGroup(testTTY, job1.tg.pid); err != nil {
		t.Fatal(err)
	}
	for _, task := range []*Task{leader, job1} {
		if id, ok := task.ControllingTerminal(); !ok || id != testTTY {
			t.Errorf("pid %d: ControllingTerminal = %#x, %v", task.tg.pid, id, ok)
		}
	}
	if id, fg, ok := k.SessionTerminal(leader.tg.sid); !ok || id != testTTY || fg != job1.tg.pid {
		t.Errorf("SessionTerminal = %#x, %d, %v", id, fg, ok)
	}
	if fg := k.TerminalForeground(testTTY); fg != job1.tg.pid {
		t.Errorf("TerminalForeground = %d, want %d", fg, job1.tg.pid)
	}
	if fg := k.TerminalForeground(local); fg != 0 {
		t.Errorf("TerminalForeground of a free terminal = %d", fg)
	}
	other := newTestProcess(t, k, nil, nil)
	if _, ok := other.ControllingTerminal(); ok {
		t.Error("a session without a terminal has one")
	}
	if err := other.SetControllingTerminal(local, false); err != nil {
		t.Fatalf("SetControllingTerminal of a local terminal: %v", err)
	}
	if id, ok := other.ControllingTerminal(); !ok || id != local || TerminalDevice(id) != 0x8800 {
		t.Errorf("ControllingTerminal = %#x, %v", id, ok)
	}
	k.HangUpTerminal(local)
	if _, ok := other.ControllingTerminal(); ok {
		t.Error("a hung-up terminal still controls its session")
	}
	k.mu.Lock()
	_, kept := k.ttys[local]
	k.mu.Unlock()
	if kept {
		t.Error("the kernel keeps a hung-up terminal's state")
	}
}
