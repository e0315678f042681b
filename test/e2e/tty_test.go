package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"bulwark.dev/runsc/console"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Terminals: process.terminal with a console socket served by the test
// (as containerd-shim and conmon do), and a foreground `runsc run` on the
// caller's own terminal.

// ttyWait bounds each wait for terminal output.
const ttyWait = 20 * time.Second

// terminalBundle writes a bundle of args with process.terminal set.
func (e *env) terminalBundle(args ...string) string {
	return e.bundleSpec(func(s *specs.Spec) { s.Process.Terminal = true }, args...)
}

// consoleSocket listens on a unix socket and returns its path and a
// channel that delivers the pty master received on it.
func consoleSocket(t *testing.T) (string, <-chan *os.File) {
	t.Helper()
	dir, err := os.MkdirTemp("", "bw-console-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	ch := make(chan *os.File, 1)
	go func() {
		conn, err := ln.AcceptUnix()
		if err != nil {
			return
		}
		defer conn.Close()
		m, err := console.ReceiveMaster(conn)
		if err != nil {
			t.Errorf("console socket: %v", err)
			close(ch)
			return
		}
		ch <- m
	}()
	return path, ch
}

// term collects what a pty master reads and writes input to it.
type term struct {
	t    *testing.T
	m    *os.File
	mu   sync.Mutex
	out  bytes.Buffer
	seen int // output before this offset was matched already
}

func newTerm(t *testing.T, m *os.File) *term {
	tm := &term{t: t, m: m}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := m.Read(buf)
			tm.mu.Lock()
			tm.out.Write(buf[:n])
			tm.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { m.Close() })
	return tm
}

// send writes input as if typed.
func (tm *term) send(s string) {
	tm.t.Helper()
	if _, err := tm.m.Write([]byte(s)); err != nil {
		tm.t.Fatalf("writing %q to the terminal: %v", s, err)
	}
}

// expect waits for want in the output after the last match.
func (tm *term) expect(want string) {
	tm.t.Helper()
	deadline := time.Now().Add(ttyWait)
	for {
		tm.mu.Lock()
		out := tm.out.String()
		i := strings.Index(out[tm.seen:], want)
		if i >= 0 {
			tm.seen += i + len(want)
		}
		tm.mu.Unlock()
		if i >= 0 {
			return
		}
		if time.Now().After(deadline) {
			tm.t.Fatalf("terminal output lacks %q after %v; it is:\n%q", want, ttyWait, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (tm *term) output() string {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return tm.out.String()
}

// interruptJob runs a foreground job in the shell on tm, types ^C once
// the job runs, and checks that the shell reports the job died of SIGINT
// (status 130). The job prints a word the echoed command line does not
// contain, so its output says it is running in the foreground.
func (tm *term) interruptJob() {
	tm.send("sh -c 'echo re''ady; exec sleep 100'\n")
	tm.expect("ready\r\n")
	tm.send("\x03")
	tm.send("echo status=$?\n")
	tm.expect("status=130")
}

// startWithConsole creates the container id of bundle with a console
// socket, receives the master, lets prepare act on it, and starts the
// container.
func (e *env) startWithConsole(id, bundle string, prepare func(m *os.File)) *term {
	e.t.Helper()
	path, masters := consoleSocket(e.t)
	e.track(id)
	e.must("create", "--console-socket", path, "--bundle", bundle, id)
	var m *os.File
	select {
	case m = <-masters:
	case <-time.After(5 * time.Second):
	}
	if m == nil {
		e.t.Fatal("create returned without sending a pty master to the console socket")
	}
	if prepare != nil {
		prepare(m)
	}
	tm := newTerm(e.t, m)
	e.must("start", id)
	return tm
}

func TestTerminalConsoleSocket(t *testing.T) {
	runscOnly(t) // uses runsc wait for the status
	e := newEnv(t)
	tm := e.startWithConsole("tty", e.terminalBundle("sh"), nil)
	tm.send("echo hi\n")
	tm.expect("echo hi\r\n") // the terminal's echo
	tm.expect("hi\r\n")      // the output, with the terminal's CR
	tm.send("exit 3\n")
	if st := e.waitStatus("tty"); st != 3 {
		t.Errorf("exit status %d, want 3; terminal:\n%q", st, tm.output())
	}
	if out := tm.output(); strings.Contains(out, "job control turned off") {
		t.Errorf("the shell found no controlling terminal:\n%q", out)
	}
}

// ^C reaches the foreground process group: a shell's foreground job dies
// of SIGINT (status 130) and the interactive shell survives.
func TestTerminalInterruptForegroundJob(t *testing.T) {
	runscOnly(t)
	e := newEnv(t)
	tm := e.startWithConsole("int", e.terminalBundle("sh"), nil)
	tm.interruptJob()
	tm.send("exit 5\n")
	if st := e.waitStatus("int"); st != 5 {
		t.Errorf("exit status %d, want 5; terminal:\n%q", st, tm.output())
	}
}

// ^Z stops the foreground job (SIGTSTP to its group), the shell takes the
// terminal back and can give it to the job again with fg.
func TestTerminalSuspendForegroundJob(t *testing.T) {
	runscOnly(t)
	e := newEnv(t)
	tm := e.startWithConsole("tstp", e.terminalBundle("sh"), nil)
	tm.send("echo start; sleep 100\n")
	tm.expect("\r\nstart\r\n")
	time.Sleep(300 * time.Millisecond)
	tm.send("\x1a")
	tm.expect("Stopped")
	// fg gives the job the terminal again and continues it; ^C ends it.
	tm.send("fg\n")
	tm.expect("sleep 100\r\n")
	time.Sleep(300 * time.Millisecond)
	tm.send("\x03")
	tm.send("echo status=$?\n")
	tm.expect("status=130")
	tm.send("exit 2\n")
	if st := e.waitStatus("tstp"); st != 2 {
		t.Errorf("exit status %d, want 2; terminal:\n%q", st, tm.output())
	}
}

// ^C sends SIGINT to the init's group: its trap runs.
func TestTerminalInterruptTrap(t *testing.T) {
	runscOnly(t)
	e := newEnv(t)
	tm := e.startWithConsole("trap", e.terminalBundle("sh", "-c", `trap "echo got INT; exit 7" INT; echo ready; sleep 100 & wait`), nil)
	tm.expect("ready")
	tm.send("\x03")
	tm.expect("got INT")
	if st := e.waitStatus("trap"); st != 7 {
		t.Errorf("exit status %d, want 7; terminal:\n%q", st, tm.output())
	}
}

// The window size set on the master is the container's, and a change
// sends SIGWINCH to the foreground group.
func TestTerminalWindowSize(t *testing.T) {
	runscOnly(t)
	e := newEnv(t)
	setSize := func(m *os.File, rows, cols uint16) {
		if err := unix.IoctlSetWinsize(int(m.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: rows, Col: cols}); err != nil {
			t.Fatalf("TIOCSWINSZ: %v", err)
		}
	}
	var master *os.File
	tm := e.startWithConsole("winsz", e.terminalBundle("sh", "-c", `stty size; trap "stty size; exit 4" WINCH; echo ready; sleep 100 & wait`),
		func(m *os.File) { master = m; setSize(m, 33, 99) })
	tm.expect("33 99\r\n")
	tm.expect("ready")
	setSize(master, 40, 120)
	tm.expect("40 120\r\n")
	if st := e.waitStatus("winsz"); st != 4 {
		t.Errorf("exit status %d, want 4; terminal:\n%q", st, tm.output())
	}
}

// Without a console socket a detached container cannot have a terminal.
func TestTerminalNeedsConsoleSocket(t *testing.T) {
	runscOnly(t) // runsc's wording
	e := newEnv(t)
	e.track("nosock")
	r := e.runsc("create", "--bundle", e.terminalBundle("sh"), "nosock")
	expectOneLineError(t, r, "console-socket")
	e.expectEmptyRoot()
}

// A foreground `runsc run` of a terminal container uses the caller's
// terminal: input reaches the shell, output comes back, and the caller's
// terminal settings are as before once runsc exits, whatever the container
// did to its terminal.
func TestTerminalForegroundRun(t *testing.T) {
	e := newEnv(t)
	m, s, err := console.NewPty()
	if err != nil {
		t.Skip(err)
	}
	defer s.Close()
	before, err := unix.IoctlGetTermios(int(s.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	tm := newTerm(t, m)
	e.track("fg")
	ctx, cancel := context.WithTimeout(context.Background(), *cmdTimeout)
	defer cancel()
	bundle := e.terminalBundle("sh", "-c", "stty raw -echo; read line; echo got $line; exit 6")
	cmd := exec.CommandContext(ctx, e.rt.Bin, append(append([]string(nil), e.rt.Global...), "run", "--bundle", bundle, "fg")...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = s, s, s
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait for the container to read: its stty ran by then.
	time.Sleep(time.Second)
	tm.send("hello\n")
	tm.expect("got hello")
	err = cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 6 {
		t.Errorf("runsc run: %v, want exit status 6; terminal:\n%q", err, tm.output())
	}
	after, err := unix.IoctlGetTermios(int(s.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	if *after != *before {
		t.Errorf("the caller's terminal settings changed:\nbefore %+v\nafter  %+v", *before, *after)
	}
}

// startRunsc starts runsc with the environment's global flags and args,
// with stdio on f (nil: none), in a session of its own.
func (e *env) startRunsc(f *os.File, args ...string) *exec.Cmd {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), *cmdTimeout)
	e.t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, e.rt.Bin, append(append([]string(nil), e.rt.Global...), args...)...)
	if f != nil {
		cmd.Stdin, cmd.Stdout, cmd.Stderr = f, f, f
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	return cmd
}

// exitCode returns the status of a finished runsc.
func exitCode(err error) int {
	if err == nil {
		return 0
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	return -1
}

// `runsc exec -t --console-socket` into a container without a terminal:
// the exec'd shell gets its own terminal, job control and ^C.
func TestTerminalExecConsoleSocket(t *testing.T) {
	runscOnly(t)
	e := newEnv(t)
	e.track("ex")
	e.must("run", "--detach", "--bundle", e.bundle("sleep", "1000"), "ex")
	path, masters := consoleSocket(t)
	cmd := e.startRunsc(nil, "exec", "-t", "--console-socket", path, "ex", "sh")
	var m *os.File
	select {
	case m = <-masters:
	case <-time.After(10 * time.Second):
	}
	if m == nil {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatal("runsc exec sent no pty master to the console socket")
	}
	tm := newTerm(t, m)
	tm.interruptJob()
	tm.send("exit 4\n")
	if st := exitCode(cmd.Wait()); st != 4 {
		t.Errorf("runsc exec exited %d, want 4; terminal:\n%q", st, tm.output())
	}
	if out := tm.output(); strings.Contains(out, "job control turned off") {
		t.Errorf("the exec'd shell found no controlling terminal:\n%q", out)
	}
}

// `runsc exec -t` in the foreground uses the caller's terminal, and
// restores its settings.
func TestTerminalExecForeground(t *testing.T) {
	runscOnly(t)
	e := newEnv(t)
	e.track("exf")
	e.must("run", "--detach", "--bundle", e.bundle("sleep", "1000"), "exf")
	m, s, err := console.NewPty()
	if err != nil {
		t.Skip(err)
	}
	defer s.Close()
	before, err := unix.IoctlGetTermios(int(s.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	tm := newTerm(t, m)
	cmd := e.startRunsc(s, "exec", "-t", "exf", "sh", "-c", "stty -echo; read line; echo got $line; exit 6")
	time.Sleep(time.Second)
	tm.send("hello\n")
	tm.expect("got hello")
	if st := exitCode(cmd.Wait()); st != 6 {
		t.Errorf("runsc exec exited %d, want 6; terminal:\n%q", st, tm.output())
	}
	after, _ := unix.IoctlGetTermios(int(s.Fd()), unix.TCGETS)
	if *after != *before {
		t.Errorf("the caller's terminal settings changed:\nbefore %+v\nafter  %+v", *before, *after)
	}
}

// tty(1) names the container's terminal: /proc/self/fd/0 reads
// /dev/pts/N (N the host pty's index) and that path in the container's
// devpts is the same terminal, as ttyname(3) checks.
func TestTerminalTTYName(t *testing.T) {
	runscOnly(t) // runc's pty lives in the container's own devpts
	e := newEnv(t)
	bundle := e.bundleSpec(func(s *specs.Spec) {
		s.Process.Terminal = true // testutil.NewSpec mounts the devpts
	}, "sh")
	var n uint32
	tm := e.startWithConsole("ttyname", bundle, func(m *os.File) {
		var err error
		if n, err = unix.IoctlGetUint32(int(m.Fd()), unix.TIOCGPTN); err != nil {
			t.Fatalf("TIOCGPTN: %v", err)
		}
	})
	tm.send("tty; echo rc=$?\n")
	tm.expect(fmt.Sprintf("\r\n/dev/pts/%d\r\nrc=0\r\n", n))
	tm.send("exit\n")
	e.waitStatus("ttyname")
}

// A second terminal: the init has one and `runsc exec -d -t
// --console-socket` (as containerd and conmon call it) gives the exec'd
// shell another. ^C typed on either reaches that terminal's foreground
// job, while the sandbox process can hold only the init's as its host
// controlling terminal.
func TestTerminalExecSecondTerminal(t *testing.T) {
	runscOnly(t)
	e := newEnv(t)
	first := e.startWithConsole("two", e.terminalBundle("sh"), nil)
	path, masters := consoleSocket(t)
	e.must("exec", "-d", "-t", "--console-socket", path, "two", "sh")
	var m *os.File
	select {
	case m = <-masters:
	case <-time.After(10 * time.Second):
	}
	if m == nil {
		t.Fatal("runsc exec sent no pty master to the console socket")
	}
	second := newTerm(t, m)
	second.interruptJob()
	first.interruptJob()
	second.send("exit\n")
	first.send("exit 3\n")
	if st := e.waitStatus("two"); st != 3 {
		t.Errorf("exit status %d, want 3; first terminal:\n%q", st, first.output())
	}
}
