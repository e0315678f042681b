package kernel

import (
	"bytes"
	"log"
	"strings"
	"testing"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/platform"
)

func TestFormatOpenFlags(t *testing.T) {
	cases := map[uint32]string{
		linux.O_RDONLY:                                 "O_RDONLY",
		linux.O_RDONLY | linux.O_CLOEXEC:               "O_RDONLY|O_CLOEXEC",
		linux.O_WRONLY | linux.O_CREAT | linux.O_TRUNC: "O_WRONLY|O_CREAT|O_TRUNC",
		linux.O_RDWR | linux.O_SYNC:                    "O_RDWR|O_SYNC",
		linux.O_RDONLY | 0x40000000:                    "O_RDONLY|0x40000000",
	}
	for flags, want := range cases {
		if got := formatOpenFlags(flags); got != want {
			t.Errorf("formatOpenFlags(%#x) = %q, want %q", flags, got, want)
		}
	}
}

func TestFormatScalars(t *testing.T) {
	raw := SyscallArguments{uintptr(0xffffff9c), 0o755, ^uintptr(0), 15, linux.SIGRTMIN + 3, 0x1f}
	checks := []struct {
		f    ArgFormat
		i    int
		want string
	}{
		{FD, 0, "AT_FDCWD"},
		{Oct, 1, "0755"},
		{Int, 2, "-1"},
		{Signal, 3, "SIGTERM"},
		{Signal, 4, "SIGRT3"},
		{Hex, 5, "0x1f"},
		{Path, 5, "0x1f"}, // unreadable memory: the address
	}
	task := &Task{}
	for _, c := range checks {
		if got := formatArg(task, c.f, raw, c.i); got != c.want {
			t.Errorf("format %d of %#x = %q, want %q", c.f, raw[c.i], got, c.want)
		}
	}
}

func TestFormatResult(t *testing.T) {
	if got := formatResult("openat", 3, nil, false); got != "3" {
		t.Errorf("success = %q", got)
	}
	if got := formatResult("mmap", 0x7f0000001000, nil, false); got != "0x7f0000001000" {
		t.Errorf("mmap = %q", got)
	}
	got := formatResult("openat", errnoRet(linux.ENOENT), linux.ENOENT, false)
	if got != "-1 ENOENT (no such file or directory)" {
		t.Errorf("error = %q", got)
	}
	if got := formatResult("read", errnoRet(linux.ERESTARTSYS), linux.ERESTARTSYS, false); got != "-1 ERESTARTSYS (to be restarted)" {
		t.Errorf("restart = %q", got)
	}
	if got := formatResult("exit_group", 0, nil, true); got != "?" {
		t.Errorf("exit = %q", got)
	}
}

func TestQuoteTruncates(t *testing.T) {
	if got := quote([]byte("a\nb\x00"), false); got != `"a\nb\x00"` {
		t.Errorf("quote = %s", got)
	}
	if got := quote([]byte("abc"), true); got != `"abc"...` {
		t.Errorf("truncated quote = %s", got)
	}
}

func TestStraceLines(t *testing.T) {
	var buf bytes.Buffer
	k := newTestKernel(t)
	k.cfg.Log = log.New(&buf, "", 0)
	task := newTestProcess(t, k, nil, nil)
	sc := Syscall{Name: "openat", Args: []ArgFormat{FD, Path, OpenFlags, Oct}}
	raw := SyscallArguments{uintptr(0xffffff9c), 0, linux.O_RDONLY | linux.O_CLOEXEC, 0}
	c := task.straceEnter(linux.SYS_OPENAT, sc, true, raw)
	task.straceExit(c, errnoRet(linux.ENOENT), linux.ENOENT)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("got %d lines: %q", len(lines), buf.String())
	}
	wantEnter := "[    1] openat(AT_FDCWD, NULL, O_RDONLY|O_CLOEXEC, 00) ..."
	if lines[0] != wantEnter {
		t.Errorf("entry line %q, want %q", lines[0], wantEnter)
	}
	wantExit := "[    1] openat(AT_FDCWD, NULL, O_RDONLY|O_CLOEXEC, 00) = -1 ENOENT (no such file or directory) <"
	if !strings.HasPrefix(lines[1], wantExit) {
		t.Errorf("exit line %q, want prefix %q", lines[1], wantExit)
	}
}

func TestRestartRules(t *testing.T) {
	const nr = linux.SYS_READ
	mk := func(code linux.Errno) *Task {
		task := &Task{}
		task.regs.Rip, task.regs.Orig_rax = 0x1002, nr
		task.regs.Rax = uint64(errnoRet(code))
		task.restartErr = code
		return task
	}
	restarted := func(task *Task) bool { return task.regs.Rip == 0x1000 && task.regs.Rax == nr }
	eintr := func(task *Task) bool {
		return task.regs.Rip == 0x1002 && task.regs.Rax == uint64(errnoRet(linux.EINTR))
	}
	withRestart := linux.SigAction{Flags: linux.SA_RESTART}
	cases := []struct {
		code    linux.Errno
		act     linux.SigAction
		restart bool
	}{
		{linux.ERESTARTSYS, withRestart, true},
		{linux.ERESTARTSYS, linux.SigAction{}, false},
		{linux.ERESTARTNOINTR, linux.SigAction{}, true},
		{linux.ERESTARTNOHAND, withRestart, false},
		{linux.ERESTART_RESTARTBLOCK, withRestart, false},
	}
	for _, c := range cases {
		task := mk(c.code)
		task.restartForHandler(c.act)
		if c.restart && !restarted(task) || !c.restart && !eintr(task) {
			t.Errorf("%s with handler flags %#x: rip %#x rax %#x", c.code.Name(), c.act.Flags, task.regs.Rip, task.regs.Rax)
		}
	}
	// Without a handler every code restarts; RESTARTBLOCK via restart_syscall.
	for _, code := range []linux.Errno{linux.ERESTARTSYS, linux.ERESTARTNOHAND, linux.ERESTARTNOINTR} {
		task := mk(code)
		task.restartWithoutHandler()
		if !restarted(task) {
			t.Errorf("%s without handler not restarted", code.Name())
		}
	}
	task := mk(linux.ERESTART_RESTARTBLOCK)
	task.restartWithoutHandler()
	if task.regs.Rip != 0x1000 || task.regs.Rax != linux.SYS_RESTART_SYSCALL {
		t.Errorf("RESTARTBLOCK: rip %#x rax %d", task.regs.Rip, task.regs.Rax)
	}
}

func TestSigContextRoundTrip(t *testing.T) {
	var r, back platform.Registers
	r.Rax, r.Rbx, r.R15, r.Rip, r.Rsp = 1, 2, 3, 0x401000, 0x7ffc0000
	r.Eflags = 0x246 | eflagsTF
	r.Cs, r.Ss = userCS, userSS
	sc := sigContextFromRegs(&r, 0x5)
	if sc.Oldmask != 5 || sc.Rip != r.Rip || sc.Cs != userCS {
		t.Fatalf("sigcontext %+v", sc)
	}
	sc.Eflags |= 1 << 12 // IOPL bits must not be restorable
	regsFromSigContext(&back, &sc)
	if back.Rax != 1 || back.Rbx != 2 || back.R15 != 3 || back.Rip != r.Rip || back.Rsp != r.Rsp {
		t.Errorf("registers not restored: %+v", back)
	}
	if back.Eflags&(1<<12) != 0 || back.Eflags&eflagsTF == 0 {
		t.Errorf("eflags %#x", back.Eflags)
	}
	if back.Orig_rax != ^uint64(0) || back.Cs != userCS || back.Ss != userSS {
		t.Errorf("orig_rax/cs/ss = %#x/%#x/%#x", back.Orig_rax, back.Cs, back.Ss)
	}
}
