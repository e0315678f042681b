package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"bulwark.dev/test/testutil"
)

func TestLifecycle(t *testing.T) {
	runscOnly(t) // runc has no `wait`
	e := newEnv(t)
	const id = "life"
	bundle := e.bundle("sleep", "1000")
	e.track(id)
	e.must("create", "--bundle", bundle, id)

	st := e.state(id)
	if st.Status != "created" || st.Pid <= 0 || st.Bundle != bundle {
		t.Fatalf("state after create: want status created, pid > 0, bundle %q; got %+v", bundle, st)
	}
	pid := st.Pid

	e.must("start", id)
	if st = e.state(id); st.Status != "running" || st.Pid != pid {
		t.Fatalf("state after start: want status running, pid %d; got %+v", pid, st)
	}

	checkList(t, e, id, pid, "running")

	e.must("kill", id, "SIGKILL")
	if got := e.waitStatus(id); got != 137 {
		t.Errorf("wait after SIGKILL: exitStatus %d, want 137", got)
	}
	if st = e.state(id); st.Status != "stopped" {
		t.Errorf("state after the init died: want status stopped, got %+v", st)
	}

	e.must("delete", id)
	r := e.runsc("state", id)
	expectOneLineError(t, r, "does not exist")
	e.expectEmptyRoot()
}

// checkList checks `list` in its three formats shows one container.
func checkList(t *testing.T, e *env, id string, pid int, status string) {
	t.Helper()
	r := e.must("list")
	lines := strings.Split(strings.TrimSpace(r.Stdout), "\n")
	if len(lines) != 2 || strings.Join(strings.Fields(lines[0]), " ") != "ID PID STATUS BUNDLE CREATED OWNER" {
		t.Errorf("list: want the header ID PID STATUS BUNDLE CREATED OWNER and one row, got:\n%s", r.Stdout)
	} else if f := strings.Fields(lines[1]); len(f) < 4 || f[0] != id || f[1] != strconv.Itoa(pid) || f[2] != status {
		t.Errorf("list: want a row %q %d %q, got %q", id, pid, status, lines[1])
	}

	r = e.must("list", "--format", "json")
	var rows []struct {
		ID     string `json:"id"`
		Pid    int    `json:"pid"`
		Status string `json:"status"`
		Bundle string `json:"bundle"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &rows); err != nil {
		t.Errorf("list --format json: %v\n%s", err, r.Stdout)
	} else if len(rows) != 1 || rows[0].ID != id || rows[0].Pid != pid || rows[0].Status != status {
		t.Errorf("list --format json: want one %q pid %d %q, got %+v", id, pid, status, rows)
	}

	if r = e.must("list", "-q"); r.Stdout != id+"\n" {
		t.Errorf("list -q: want %q, got %q", id+"\n", r.Stdout)
	}
}

func TestPidFile(t *testing.T) {
	e := newEnv(t)
	const id = "pidfile"
	pidFile := filepath.Join(t.TempDir(), "pid")
	e.track(id)
	e.must("create", "--bundle", e.bundle("sleep", "1000"), "--pid-file", pidFile, id)
	data, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatalf("create --pid-file: %v", err)
	}
	st := e.state(id)
	if got := strings.TrimSpace(string(data)); got != strconv.Itoa(st.Pid) {
		t.Errorf("--pid-file holds %q, state says pid %d", data, st.Pid)
	}
	e.must("delete", "--force", id)
	e.expectEmptyRoot()
}

func TestRunDetachWait(t *testing.T) {
	runscOnly(t) // runc has no `wait`
	e := newEnv(t)
	const id = "detached"
	e.track(id)
	r := e.must("run", "--detach", "--bundle", e.bundle("sh", "-c", "sleep 0.2; exit 5"), id)
	if r.Stdout != "" {
		t.Errorf("run --detach printed %q", r.Stdout)
	}
	if got := e.waitStatus(id); got != 5 {
		t.Errorf("wait: exitStatus %d, want 5", got)
	}
	if st := e.state(id); st.Status != "stopped" {
		t.Errorf("state after exit: want stopped, got %+v", st)
	}
	e.must("delete", id)
	e.expectEmptyRoot()
}

func TestDeleteRunningNeedsForce(t *testing.T) {
	e := newEnv(t)
	const id = "busy"
	e.create(id, "sleep", "1000")
	e.must("start", id)
	expectOneLineError(t, e.runsc("delete", id), id)
	if st := e.state(id); st.Status != "running" {
		t.Errorf("a refused delete changed the container: %+v", st)
	}
	e.must("delete", "--force", id)
	e.expectEmptyRoot()
}

func TestConcurrentCreate(t *testing.T) {
	runscOnly(t) // runc 1.1.5 itself can fail both creates here
	e := newEnv(t)
	const id = "twin"
	bundle := e.bundle("sleep", "1000")
	e.track(id)
	results := make([]testutil.Result, 2)
	var wg sync.WaitGroup
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = e.rt.Run("create", "--bundle", bundle, id)
			if results[i].TimedOut {
				timeouts.Add(1)
			}
		}()
	}
	wg.Wait()
	ok, failed := 0, -1
	for i, r := range results {
		if r.ExitCode == 0 && r.Err == nil {
			ok++
		} else {
			failed = i
		}
	}
	if ok != 1 || failed < 0 {
		t.Fatalf("two concurrent creates of %q: want exactly one to succeed, got:\n%s\n\n%s", id, results[0], results[1])
	}
	expectOneLineError(t, results[failed], "already exists")
	if st := e.state(id); st.Status != "created" {
		t.Errorf("state: want created, got %+v", st)
	}
	e.must("delete", "--force", id)
	e.expectEmptyRoot()
}
