package testutil

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestRunCapturesOutputAndExitCode(t *testing.T) {
	sh := Runtime{Bin: "/bin/sh", Global: []string{"-c"}}
	r := sh.Run("echo out; echo err >&2; exit 3")
	if r.Stdout != "out\n" || r.Stderr != "err\n" || r.ExitCode != 3 || r.Err != nil || r.TimedOut {
		t.Errorf("got %s", r)
	}
	r = sh.Run("kill -9 $$")
	if r.ExitCode != 137 {
		t.Errorf("killed by SIGKILL: exit code %d, want 137 (%s)", r.ExitCode, r)
	}
	r = Runtime{Bin: "/nonexistent/bin"}.Run()
	if r.Err == nil || r.ExitCode != -1 {
		t.Errorf("missing binary: got %s, want a start error", r)
	}
}

func TestRunDir(t *testing.T) {
	dir := t.TempDir()
	r := Runtime{Bin: "/bin/pwd", Dir: dir}.Run()
	if strings.TrimSpace(r.Stdout) != dir {
		t.Errorf("pwd = %q, want %q", r.Stdout, dir)
	}
}

func TestRunTimeoutKillsProcessGroup(t *testing.T) {
	// The background sleep keeps the output file open and outlives its
	// parent; Run must neither wait for it nor leave it running.
	pidFile := filepath.Join(t.TempDir(), "pid")
	sh := Runtime{Bin: "/bin/sh", Global: []string{"-c"}, Timeout: 500 * time.Millisecond}
	start := time.Now()
	r := sh.Run("sleep 30 & echo $! > " + pidFile + "; wait")
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("Run took %v after a 500ms timeout", took)
	}
	if !r.TimedOut || r.Err == nil || r.ExitCode != -1 {
		t.Errorf("got %s, want a timeout", r)
	}
	data, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatalf("reading the background pid: %v", err)
	}
	pid := strings.TrimSpace(string(data))
	deadline := time.Now().Add(5 * time.Second)
	for {
		stat, err := os.ReadFile("/proc/" + pid + "/stat")
		if err != nil || strings.Contains(string(stat), ") Z ") {
			break // gone, or a zombie awaiting init
		}
		if time.Now().After(deadline) {
			t.Fatalf("background process %s survived the timeout", pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestDetachedChildDoesNotBlockRun(t *testing.T) {
	// Like `runsc create`, the command exits while a child it started keeps
	// running with the command's stdout.
	sh := Runtime{Bin: "/bin/sh", Global: []string{"-c"}, Timeout: 20 * time.Second}
	root, err := NewStateRoot()
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(root)
	start := time.Now()
	r := sh.Run("setsid sh -c 'sleep 30; :' " + root + "/marker & echo started")
	if r.ExitCode != 0 || r.Stdout != "started\n" {
		t.Errorf("got %s", r)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("Run waited %v for a detached child", took)
	}
	// The child may still be between fork and exec, when its command line
	// reads empty for an instant: give it time to appear.
	for deadline := time.Now().Add(5 * time.Second); len(Leftovers(root)) == 0 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	killed := KillLeftovers(root)
	for _, pid := range killed {
		syscall.Kill(-pid, syscall.SIGKILL) // its sleep, in the session setsid made
	}
	if len(killed) == 0 {
		t.Errorf("KillLeftovers(%q) found nothing, want the detached shell", root)
	}
	if left := Leftovers(root); len(left) != 0 {
		t.Errorf("still running after KillLeftovers: %v", left)
	}
}

func TestNamesRoot(t *testing.T) {
	root := "/tmp/bw-123"
	for _, c := range []struct {
		args []string
		want bool
	}{
		{[]string{"runsc", "--root=/tmp/bw-123", "boot"}, true},
		{[]string{"runsc", "--root", "/tmp/bw-123", "gofer"}, true},
		{[]string{"runsc", "--debug-log=/tmp/bw-123/c/x.log"}, true},
		{[]string{"runsc", "--root=/tmp/bw-1234"}, false},
		{[]string{"sleep", "30"}, false},
	} {
		if got := namesRoot(c.args, root); got != c.want {
			t.Errorf("namesRoot(%q) = %v, want %v", c.args, got, c.want)
		}
	}
}

func TestNewStateRootIsShort(t *testing.T) {
	root, err := NewStateRoot()
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(root)
	if !strings.HasPrefix(root, "/tmp/bw-") || len(root) > 24 {
		t.Errorf("state root %q: want a short /tmp/bw-* path", root)
	}
	if names, err := DirEntries(root); err != nil || len(names) != 0 {
		t.Errorf("fresh root entries = %v, %v", names, err)
	}
	if err := os.MkdirAll(filepath.Join(root, "a/b"), 0o755); err != nil {
		t.Fatal(err)
	}
	if names, err := DirEntries(root); err != nil || strings.Join(names, ",") != "a,a/b" {
		t.Errorf("entries = %v, %v; want [a a/b]", names, err)
	}
	if names, err := DirEntries(filepath.Join(root, "missing")); err != nil || len(names) != 0 {
		t.Errorf("missing dir entries = %v, %v; want none", names, err)
	}
}
