package kernel

import (
	"errors"
	"testing"

	"bulwark.dev/pkg/abi/linux"
)

func TestSignalProcessForeground(t *testing.T) {
	k, leader, job1, job2 := newJobSession(t)
	if err := leader.SetForegroundGroup(testTTY, job1.tg.pid); err != nil {
		t.Fatalf("SetForegroundGroup: %v", err)
	}
	// Asked for the session leader, the foreground job gets it.
	if err := k.SignalProcessForeground(leader.tg.pid, linux.SIGINT); err != nil {
		t.Fatalf("SignalProcessForeground: %v", err)
	}
	for _, task := range []*Task{job1, job2} {
		if g, _ := pending(task); g&uint64(sigBit(linux.SIGINT)) == 0 {
			t.Errorf("pid %d: SIGINT not pending", task.tg.pid)
		}
	}
	if g, _ := pending(leader); g != 0 {
		t.Errorf("leader got %#x; the foreground job should have", g)
	}
	// Without a controlling terminal the process itself gets it.
	other := newTestProcess(t, k, nil, nil)
	if err := k.SignalProcessForeground(other.tg.pid, linux.SIGUSR1); err != nil {
		t.Fatalf("SignalProcessForeground without a terminal: %v", err)
	}
	if g, _ := pending(other); g&uint64(sigBit(linux.SIGUSR1)) == 0 {
		t.Errorf("SIGUSR1 not pending for the process without a terminal: %#x", g)
	}
	if err := k.SignalProcessForeground(9999, linux.SIGINT); !errors.Is(err, linux.ESRCH) {
		t.Errorf("missing pid: %v, want ESRCH", err)
	}
}
