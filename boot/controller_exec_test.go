package boot

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"bulwark.dev/boot/control"
	"bulwark.dev/pkg/kernel"
	"bulwark.dev/pkg/urpc"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// fakeExecProcs adds exec and freezing to fakeProcs. Exec'd processes get
// pids from 100 on and exit when told to (exits[pid]).
type fakeExecProcs struct {
	*fakeProcs

	emu      sync.Mutex
	nextPID  int32
	exits    map[int32]chan kernel.ExitStatus
	argv     map[int32][]string
	nfiles   map[int32]int
	kills    []int32
	freezes  int
	thaws    int
	freezeTo error
}

func newFakeExecProcs() *fakeExecProcs {
	return &fakeExecProcs{
		fakeProcs: newFakeProcs(), nextPID: 100,
		exits: map[int32]chan kernel.ExitStatus{}, argv: map[int32][]string{}, nfiles: map[int32]int{},
	}
}

func (f *fakeExecProcs) startExec(p *specs.Process, files []*os.File) (int32, func() kernel.ExitStatus, error) {
	if p.Args[0] == "missing" {
		return 0, nil, fmt.Errorf("executable file not found in $PATH: %q", p.Args[0])
	}
	f.emu.Lock()
	defer f.emu.Unlock()
	pid := f.nextPID
	f.nextPID++
	ch := make(chan kernel.ExitStatus, 1)
	f.exits[pid], f.argv[pid], f.nfiles[pid] = ch, p.Args, len(files)
	closeAll(files)
	var once sync.Once
	var st kernel.ExitStatus
	return pid, func() kernel.ExitStatus {
		once.Do(func() { st = <-ch })
		return st
	}, nil
}

// exit makes exec'd process pid exit with st.
func (f *fakeExecProcs) exit(pid int32, st kernel.ExitStatus) {
	f.emu.Lock()
	ch := f.exits[pid]
	f.emu.Unlock()
	ch <- st
}

func (f *fakeExecProcs) signal(pid int32, sig int) error {
	if pid < 100 {
		return f.fakeProcs.signal(pid, sig)
	}
	f.emu.Lock()
	defer f.emu.Unlock()
	if sig == 9 {
		f.kills = append(f.kills, pid)
	}
	return nil
}

func (f *fakeExecProcs) freeze() error {
	f.emu.Lock()
	defer f.emu.Unlock()
	f.freezes++
	return f.freezeTo
}

func (f *fakeExecProcs) thaw() {
	f.emu.Lock()
	defer f.emu.Unlock()
	f.thaws++
}

// callExec calls Exec with three stdio files (the test's own stdio) and a
// liveness pipe; it returns the write end of that pipe.
func callExec(t *testing.T, c *urpc.Client, argv ...string) (int32, *os.File, error) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var res control.ExecResult
	err = c.Call(control.Exec, control.ExecArgs{Process: &specs.Process{Args: argv}, NumFDs: 3},
		&res, os.Stdin, os.Stdout, os.Stderr, r)
	if err != nil {
		w.Close()
		return 0, nil, err
	}
	t.Cleanup(func() { w.Close() })
	return res.PID, w, nil
}

func TestExecSessions(t *testing.T) {
	procs := newFakeExecProcs()
	ctl, c, _, _ := startController(t, procs)

	if _, _, err := callExec(t, c, "true"); err == nil || !strings.Contains(err.Error(), "not been started") {
		t.Fatalf("Exec before the start: %v", err)
	}
	if err := c.Call(control.StartRoot, nil, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := callExec(t, c, "missing"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("Exec of a missing command: %v", err)
	}
	pid, _, err := callExec(t, c, "sh", "-c", "exit 3")
	if err != nil || pid != 100 {
		t.Fatalf("Exec: pid %d, %v", pid, err)
	}
	procs.emu.Lock()
	if n := procs.nfiles[pid]; n != 3 {
		t.Errorf("the process got %d files, want 3", n)
	}
	procs.emu.Unlock()

	waited := make(chan error, 1)
	go func() {
		var r control.WaitResult
		err := c.Call(control.ExecWait, control.WaitPIDArgs{PID: pid}, &r)
		if err == nil && r.Status != 3 {
			err = fmt.Errorf("status %d, want 3", r.Status)
		}
		waited <- err
	}()
	select {
	case err := <-waited:
		t.Fatalf("ExecWait returned before the exit: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	procs.exit(pid, kernel.ExitStatus{Code: 3})
	if err := <-waited; err != nil {
		t.Fatalf("ExecWait: %v", err)
	}
	// The status was collected: the session is gone.
	if err := c.Call(control.ExecWait, control.WaitPIDArgs{PID: pid}, nil); err == nil {
		t.Error("second ExecWait succeeded")
	}
	if n := ctl.execs.len(); n != 0 {
		t.Errorf("%d sessions left after the wait", n)
	}

	// A status nobody collected yet is kept for a later waiter.
	pid2, _, err := callExec(t, c, "sleep", "1")
	if err != nil {
		t.Fatal(err)
	}
	procs.exit(pid2, kernel.ExitStatus{Signo: 15})
	var r control.WaitResult
	if err := c.Call(control.ExecWait, control.WaitPIDArgs{PID: pid2}, &r); err != nil || r.Status != 143 {
		t.Fatalf("late ExecWait: %+v, %v", r, err)
	}
}

func TestExecCallerDeathKillsProcess(t *testing.T) {
	procs := newFakeExecProcs()
	ctl, c, _, _ := startController(t, procs)
	if err := c.Call(control.StartRoot, nil, nil); err != nil {
		t.Fatal(err)
	}
	pid, live, err := callExec(t, c, "sleep", "100")
	if err != nil {
		t.Fatal(err)
	}
	live.Close() // the caller's host process died
	deadline := time.Now().Add(5 * time.Second)
	for {
		procs.emu.Lock()
		killed := len(procs.kills) == 1 && procs.kills[0] == pid
		procs.emu.Unlock()
		if killed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the process was not killed when its caller went away")
		}
		time.Sleep(5 * time.Millisecond)
	}
	procs.exit(pid, kernel.ExitStatus{Signo: 9})
	// An exited session nobody waits for is pruned eventually.
	ctl.execs.mu.Lock()
	sess := ctl.execs.byID[pid]
	ctl.execs.mu.Unlock()
	<-sess.done
	ctl.execs.mu.Lock()
	ctl.execs.pruneLocked(time.Now().Add(sessionKeep + time.Second))
	n := len(ctl.execs.byID)
	ctl.execs.mu.Unlock()
	if n != 0 {
		t.Errorf("%d sessions left after they expired", n)
	}

	// A process that exits normally is not killed when its caller goes.
	pid2, live2, err := callExec(t, c, "true")
	if err != nil {
		t.Fatal(err)
	}
	procs.exit(pid2, kernel.ExitStatus{})
	if err := c.Call(control.ExecWait, control.WaitPIDArgs{PID: pid2}, nil); err != nil {
		t.Fatal(err)
	}
	live2.Close()
	time.Sleep(20 * time.Millisecond)
	procs.emu.Lock()
	if len(procs.kills) != 1 {
		t.Errorf("kills %v: an exited process was killed", procs.kills)
	}
	procs.emu.Unlock()
}

func TestExecSessionsBounded(t *testing.T) {
	var s execSessions
	now := time.Now()
	for i := range maxExited + 10 {
		sess := &execSession{pid: int32(i + 1), done: make(chan struct{})}
		s.add(sess)
		if i == 0 {
			continue // stays running
		}
		s.mu.Lock()
		sess.status, sess.ended = 0, now.Add(time.Duration(i)*time.Millisecond)
		close(sess.done)
		s.mu.Unlock()
	}
	s.mu.Lock()
	s.pruneLocked(now)
	_, running := s.byID[1]
	_, oldest := s.byID[2]
	_, newest := s.byID[int32(maxExited+10)]
	s.mu.Unlock()
	if got := s.len(); got != maxExited+1 {
		t.Errorf("%d sessions kept, want %d exited and the running one", got, maxExited)
	}
	if !running || oldest || !newest {
		t.Errorf("kept running %v, oldest exited %v, newest exited %v", running, oldest, newest)
	}
}

func TestExecBadRequests(t *testing.T) {
	procs := newFakeExecProcs()
	_, c, _, _ := startController(t, procs)
	if err := c.Call(control.StartRoot, nil, nil); err != nil {
		t.Fatal(err)
	}
	r, w, _ := os.Pipe()
	defer r.Close()
	defer w.Close()
	for _, tc := range []struct {
		args  control.ExecArgs
		files []*os.File
		want  string
	}{
		{control.ExecArgs{NumFDs: 0}, []*os.File{r}, "no command"},
		{control.ExecArgs{Process: &specs.Process{Args: []string{"sh"}}, NumFDs: 3}, []*os.File{r}, "received 1 files"},
	} {
		err := c.Call(control.Exec, tc.args, nil, tc.files...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Exec(%+v): %v, want an error with %q", tc.args, err, tc.want)
		}
	}
}

func TestPauseResume(t *testing.T) {
	procs := newFakeExecProcs()
	_, c, _, _ := startController(t, procs)
	if err := c.Call(control.Pause, nil, nil); err == nil {
		t.Error("Pause before the start succeeded")
	}
	if err := c.Call(control.StartRoot, nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Call(control.Pause, nil, nil); err != nil {
		t.Fatalf("Pause: %v", err)
	}
	if err := c.Call(control.Resume, nil, nil); err != nil {
		t.Fatalf("Resume: %v", err)
	}
	procs.emu.Lock()
	defer procs.emu.Unlock()
	if procs.freezes != 1 || procs.thaws != 1 {
		t.Errorf("freezes %d, thaws %d, want 1 and 1", procs.freezes, procs.thaws)
	}
}
