package sandbox

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"bulwark.dev/boot/control"
)

func TestParseStat(t *testing.T) {
	// 52 fields as the kernel prints them; starttime (field 22) is 4242.
	rest := "S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 4242 20 21 22 23 24 25 26 27 28 29 30 31"
	for _, comm := range []string{"sleep", "a b", "x) (y", "((", ""} {
		st, err := parseStat([]byte("1234 (" + comm + ") " + rest + "\n"))
		if err != nil {
			t.Errorf("comm %q: %v", comm, err)
			continue
		}
		if st.StartTime != 4242 || st.State != 'S' {
			t.Errorf("comm %q: got %+v, want start 4242 state S", comm, st)
		}
	}
	for _, bad := range []string{"", "1234 sleep S 1 2", "1 (x) S 1 2 3", "1 (x) S " + strings.Repeat("x ", 30)} {
		if _, err := parseStat([]byte(bad)); err == nil {
			t.Errorf("parseStat(%q) succeeded", bad)
		}
	}
}

func TestSocketAddr(t *testing.T) {
	short := filepath.Join(t.TempDir(), "ctl.sock")
	addr, done, err := socketAddr(short)
	if err != nil || addr != short {
		t.Fatalf("short path: %q, %v", addr, err)
	}
	done()

	dir := t.TempDir()
	for len(dir) < 150 {
		dir = filepath.Join(dir, "a-rather-long-directory-name")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	long := filepath.Join(dir, "ctl.sock")
	addr, done, err = socketAddr(long)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(addr, "/proc/self/fd/") || !strings.HasSuffix(addr, "/ctl.sock") || len(addr) > maxSocketPath {
		t.Errorf("long path became %q", addr)
	}
	done()

	// Listening and connecting through the long path really work.
	f, err := listenControl(long)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if fi, err := os.Stat(long); err != nil || fi.Mode()&os.ModeSocket == 0 {
		t.Fatalf("socket not at the long path: %v", err)
	}
	ln, err := net.FileListener(f)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			c.Close()
		}
		accepted <- err
	}()
	c, err := dialControl(long)
	if err != nil {
		t.Fatalf("dial through long path: %v", err)
	}
	c.Close()
	if err := <-accepted; err != nil {
		t.Fatal(err)
	}
}

// startSleeper starts a child that runs until killed.
func startSleeper(t *testing.T) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sleep", "1000")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd
}

func TestIsRunning(t *testing.T) {
	cmd := startSleeper(t)
	pid := cmd.Process.Pid
	st, err := startTime(pid)
	if err != nil {
		t.Fatal(err)
	}
	s := &Sandbox{Pid: pid, PidStartTime: st}
	if !s.IsRunning() {
		t.Fatal("running child reported not running")
	}
	if (&Sandbox{Pid: pid, PidStartTime: st + 1}).IsRunning() {
		t.Error("pid with another start time (reused pid) reported running")
	}
	if (&Sandbox{}).IsRunning() {
		t.Error("pid 0 reported running")
	}
	cmd.Process.Kill()
	// Killed but not reaped: a zombie is not running.
	deadline := time.Now().Add(5 * time.Second)
	for s.IsRunning() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if s.IsRunning() {
		t.Error("zombie reported running")
	}
	cmd.Wait()
	if s.IsRunning() {
		t.Error("reaped process reported running")
	}
}

func TestDestroy(t *testing.T) {
	sb, gf := startSleeper(t), startSleeper(t)
	sbStart, _ := startTime(sb.Process.Pid)
	gfStart, _ := startTime(gf.Process.Pid)
	other := startSleeper(t) // named with a wrong start time: must survive
	otherStart, _ := startTime(other.Process.Pid)

	dir := t.TempDir()
	sock := filepath.Join(dir, "ctl.sock")
	f, err := listenControl(sock)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	s := &Sandbox{
		Pid: sb.Process.Pid, PidStartTime: sbStart,
		GoferPid: gf.Process.Pid, GoferStartTime: gfStart,
		ControlSocket: sock,
	}
	if err := s.Destroy(); err != nil {
		t.Fatalf("Destroy: %v", err)
	}
	if alive(sb.Process.Pid, sbStart) || alive(gf.Process.Pid, gfStart) {
		t.Error("processes alive after Destroy")
	}
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Errorf("control socket still there: %v", err)
	}
	if err := s.Destroy(); err != nil {
		t.Errorf("second Destroy: %v", err)
	}

	s2 := &Sandbox{Pid: other.Process.Pid, PidStartTime: otherStart + 7}
	if err := s2.Destroy(); err != nil {
		t.Errorf("Destroy with stale pid: %v", err)
	}
	if !alive(other.Process.Pid, otherStart) {
		t.Error("Destroy killed a process whose start time did not match")
	}
}

func TestExitStatusAndWaitFallback(t *testing.T) {
	dir := t.TempDir()
	exitPath := filepath.Join(dir, "exit")
	s := &Sandbox{ExitFile: exitPath, ControlSocket: filepath.Join(dir, "ctl.sock")}
	if _, ok := s.ExitStatus(); ok {
		t.Fatal("status before the file exists")
	}
	f, err := os.Create(exitPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, ok := s.ExitStatus(); ok {
		t.Fatal("status from an empty file")
	}

	// No sandbox process and no status: it was killed.
	if st, err := s.Wait(); err != nil || st != 137 {
		t.Errorf("Wait without status = %d, %v; want 137", st, err)
	}
	if err := control.WriteExitFile(f, 3); err != nil {
		t.Fatal(err)
	}
	if st, ok := s.ExitStatus(); !ok || st != 3 {
		t.Errorf("ExitStatus = %d, %v; want 3", st, ok)
	}
	// No control socket to talk to: Wait answers from the exit file.
	if st, err := s.Wait(); err != nil || st != 3 {
		t.Errorf("Wait = %d, %v; want 3 from the exit file", st, err)
	}
}

func TestCheckArgs(t *testing.T) {
	good := func() CreateArgs {
		a := fakeArgs(t)
		return a
	}
	if err := checkArgs(good()); err != nil {
		t.Fatalf("good args refused: %v", err)
	}
	bad := map[string]func(*CreateArgs){
		"terminal": func(a *CreateArgs) { a.Spec.Process.Terminal = true },
		"console":  func(a *CreateArgs) { a.ConsoleSocket = "/tmp/x.sock" },
		"relative": func(a *CreateArgs) { a.BundleDir = "bundle" },
		"stdio":    func(a *CreateArgs) { a.Stdio = []*os.File{os.Stdin} },
		"no id":    func(a *CreateArgs) { a.ID = "" },
	}
	for name, mod := range bad {
		a := good()
		mod(&a)
		if err := checkArgs(a); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	os.WriteFile(path, []byte("one\n\ntwo\nthree\nfour\nfive\n"), 0o644)
	if got := tail(path, 2, 100); got != "four\n  five" {
		t.Errorf("tail = %q", got)
	}
	os.WriteFile(path, []byte("starting\npanic: runtime error: nil map\n\ngoroutine 1 [running]:\nmain.f()\n\t/x.go:3\nmain.main()\n\t/x.go:9\nexit status 2\n"), 0o644)
	if got := tail(path, 2, 1000); !strings.HasPrefix(got, "panic: runtime error: nil map\n  goroutine 1 [running]:\n  main.f()") {
		t.Errorf("panic tail = %q", got)
	}
	if got := tail(filepath.Join(t.TempDir(), "missing"), 2, 100); got != "" {
		t.Errorf("missing file tail = %q", got)
	}
}
