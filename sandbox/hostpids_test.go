package sandbox

import (
	"os/exec"
	"slices"
	"syscall"
	"testing"
	"time"
)

func TestDescendants(t *testing.T) {
	cmd := exec.Command("sh", "-c", "sleep 30 & sleep 31 & wait")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		for _, p := range descendants(cmd.Process.Pid)[1:] {
			syscall.Kill(p, syscall.SIGKILL)
		}
		cmd.Process.Kill()
		cmd.Wait()
	}()
	var got []int
	deadline := time.Now().Add(5 * time.Second)
	for len(got) < 3 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		got = descendants(cmd.Process.Pid)
	}
	if len(got) != 3 || got[0] != cmd.Process.Pid {
		t.Fatalf("descendants = %v, want the shell and its two sleeps", got)
	}
	st, err := startTime(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	s := &Sandbox{Pid: cmd.Process.Pid, PidStartTime: st}
	if hp := s.HostPids(); !slices.Equal(hp, got) {
		t.Errorf("HostPids = %v, want %v", hp, got)
	}
	if hp := (&Sandbox{Pid: cmd.Process.Pid, PidStartTime: st + 1}).HostPids(); len(hp) != 0 {
		t.Errorf("HostPids of a reused pid = %v, want none", hp)
	}
}
