package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// counterLoop is an init that counts in /tmp/counter about ten times a
// second.
var counterLoop = []string{"sh", "-c", "i=0; while true; do i=$((i+1)); echo $i > /tmp/counter; sleep 0.1; done"}

// startRunning creates and starts container id running args.
func (e *env) startRunning(id string, args ...string) {
	e.t.Helper()
	e.create(id, args...)
	e.must("start", id)
}

// execOut runs `runsc exec` with args and returns its stdout, failing the
// test unless it exits 0.
func (e *env) execOut(args ...string) string {
	e.t.Helper()
	return e.must(append([]string{"exec"}, args...)...).Stdout
}

// counter reads the counter of a counterLoop container.
func (e *env) counter(id string) int {
	e.t.Helper()
	out := strings.TrimSpace(e.execOut(id, "cat", "/tmp/counter"))
	n, err := strconv.Atoi(out)
	if err != nil {
		e.t.Fatalf("counter: %q is not a number", out)
	}
	return n
}

// startExec starts `runsc exec` with args in the background (its own
// process group), with stdio to /dev/null.
func (e *env) startExec(args ...string) *exec.Cmd {
	e.t.Helper()
	cmd := exec.Command(e.rt.Bin, append(append(append([]string(nil), e.rt.Global...), "exec"), args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	return cmd
}

// waitExit waits up to *cmdTimeout for cmd and returns its exit code.
func waitExit(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
		return cmd.ProcessState.ExitCode()
	case <-time.After(*cmdTimeout):
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		t.Fatalf("%v did not exit", cmd.Args)
		return -1
	}
}

func TestExecOutputAndStatus(t *testing.T) {
	e := newEnv(t)
	const id = "ex"
	e.startRunning(id, "sleep", "1000")
	if out := e.execOut(id, "sh", "-c", "echo hello $((1+2))"); out != "hello 3\n" {
		t.Errorf("exec output %q", out)
	}
	r := e.runsc("exec", id, "sh", "-c", "echo out; echo err >&2; exit 3")
	if r.ExitCode != 3 || r.Stdout != "out\n" || !strings.Contains(r.Stderr, "err") {
		t.Errorf("exec exit 3:\n%s", r)
	}
	if r := e.runsc("exec", id, "sh", "-c", "kill -TERM $$"); r.ExitCode != 143 {
		t.Errorf("exec of a process killed by SIGTERM: want 143:\n%s", r)
	}
	// Errors are one clean line.
	expectOneLineError(t, e.runsc("exec", id, "no-such-command"), "no-such-command")
	expectOneLineError(t, e.runsc("exec", "nope", "true"), "nope")
	// The init still runs, untouched.
	if st := e.state(id); st.Status != "running" {
		t.Errorf("state after the execs: %+v", st)
	}
	e.must("delete", "--force", id)
	e.expectEmptyRoot()
}

func TestExecEnvCwdUser(t *testing.T) {
	e := newEnv(t)
	const id = "exenv"
	e.startRunning(id, "sleep", "1000")
	out := e.execOut("-e", "FOO=bar", "-e", "PATH=/bin:/usr/bin", "--cwd", "/tmp", "-u", "1000:1001",
		"--additional-gids", "7", id, "sh", "-c", `echo "$FOO $PATH"; pwd; id -u; id -g; id -G`)
	if want := "bar /bin:/usr/bin\n/tmp\n1000\n1001\n1001 7\n"; out != want {
		t.Errorf("exec output %q, want %q", out, want)
	}
	// Without flags: the spec's cwd (/) and user (root).
	if out := e.execOut(id, "sh", "-c", "pwd; id -u"); out != "/\n0\n" {
		t.Errorf("defaults: %q", out)
	}
}

func TestExecProcessFile(t *testing.T) {
	e := newEnv(t)
	const id = "exproc"
	e.startRunning(id, "sleep", "1000")
	path := filepath.Join(t.TempDir(), "process.json")
	data := `{"args":["sh","-c","echo $ONLY:$HOME; pwd; exit 4"],"cwd":"/tmp","env":["ONLY=yes"],"user":{"uid":5,"gid":5}}`
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	r := e.runsc("exec", "--process", path, id)
	if r.ExitCode != 4 || r.Stdout != "yes:\n/tmp\n" {
		t.Errorf("exec --process:\n%s", r)
	}
}

func TestExecForwardsSignals(t *testing.T) {
	runscOnly(t)
	e := newEnv(t)
	const id = "exsig"
	e.startRunning(id, "sleep", "1000")
	cmd := e.startExec(id, "sleep", "99")
	waitForProcess(t, e, id, "sleep 99")
	syscall.Kill(cmd.Process.Pid, syscall.SIGTERM)
	if code := waitExit(t, cmd); code != 143 {
		t.Errorf("runsc exec after SIGTERM exited %d, want 143", code)
	}
	// A runsc exec killed outright takes its process with it.
	cmd = e.startExec(id, "sleep", "99")
	waitForProcess(t, e, id, "sleep 99")
	syscall.Kill(cmd.Process.Pid, syscall.SIGKILL)
	waitExit(t, cmd)
	if !waitFor(10*time.Second, func() bool { return !strings.Contains(e.must("ps", id).Stdout, "sleep 99") }) {
		t.Errorf("the exec'd process outlived its killed runsc exec:\n%s", e.must("ps", id).Stdout)
	}
}

// waitForProcess waits until `runsc ps` lists a process whose command line
// holds cmdline.
func waitForProcess(t *testing.T, e *env, id, cmdline string) {
	t.Helper()
	if !waitFor(10*time.Second, func() bool { return strings.Contains(e.must("ps", id).Stdout, cmdline) }) {
		t.Fatalf("no process %q in the container", cmdline)
	}
}

func TestExecDetachPidFile(t *testing.T) {
	runscOnly(t) // runc's pid is the process itself
	e := newEnv(t)
	const id = "exdet"
	e.startRunning(id, "sleep", "1000")
	pidFile := filepath.Join(t.TempDir(), "exec.pid")
	r := e.must("exec", "-d", "--pid-file", pidFile, id, "sh", "-c", "sleep 1; exit 7")
	if r.Stdout != "" {
		t.Errorf("exec -d printed %q", r.Stdout)
	}
	data, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		t.Fatalf("pid file holds %q", data)
	}
	if err := syscall.Kill(pid, 0); err != nil {
		t.Fatalf("the pid-file process %d does not exist while the command runs: %v", pid, err)
	}
	gone := func() bool {
		stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		return err != nil || strings.Contains(string(stat), ") Z ")
	}
	if !waitFor(15*time.Second, gone) {
		t.Errorf("the pid-file process %d outlived the command", pid)
	}
}

func TestPauseResume(t *testing.T) {
	e := newEnv(t)
	const id = "pz"
	e.startRunning(id, counterLoop...)
	// The counter advances while running.
	a := e.counter(id)
	time.Sleep(1500 * time.Millisecond)
	rate := e.counter(id) - a
	if rate < 4 {
		t.Fatalf("the counter advanced by %d in 1.5s: too slow to test pausing", rate)
	}

	e.must("pause", id)
	if st := e.state(id); st.Status != "paused" || st.Pid == 0 {
		t.Errorf("state after pause: %+v", st)
	}
	expectOneLineError(t, e.runsc("pause", id), id)
	expectOneLineError(t, e.runsc("exec", id, "true"), "paused")
	// An exec with --ignore-paused starts frozen: it reads the counter
	// only once resumed.
	late := e.startExec("--ignore-paused", id, "true")
	time.Sleep(1500 * time.Millisecond)
	e.must("resume", id)
	if code := waitExit(t, late); code != 0 {
		t.Errorf("exec --ignore-paused exited %d", code)
	}
	b := e.counter(id)
	before := a + rate
	if b-before > rate/2 {
		t.Errorf("the counter went from about %d to %d across a 1.5s pause: it kept running", before, b)
	}
	if st := e.state(id); st.Status != "running" {
		t.Errorf("state after resume: %+v", st)
	}
	expectOneLineError(t, e.runsc("resume", id), id)
	time.Sleep(1 * time.Second)
	if n := e.counter(id); n <= b {
		t.Errorf("the counter did not advance after resume: %d then %d", b, n)
	}
}

func TestPausedKillAndDelete(t *testing.T) {
	e := newEnv(t)
	const id = "pk"
	e.startRunning(id, "sh", "-c", "trap 'exit 9' TERM; while true; do sleep 0.1; done")
	e.must("pause", id)
	// A catchable signal waits for the resume.
	e.must("kill", id, "TERM")
	time.Sleep(300 * time.Millisecond)
	if st := e.state(id); st.Status != "paused" {
		t.Fatalf("a paused container acted on SIGTERM: %+v", st)
	}
	e.must("resume", id)
	if !waitFor(10*time.Second, func() bool { return e.state(id).Status == "stopped" }) {
		t.Errorf("SIGTERM sent while paused was not delivered on resume")
	}
	e.must("delete", id)

	// SIGKILL kills a paused container; delete --force works too.
	const id2 = "pk2"
	e.startRunning(id2, "sleep", "1000")
	e.must("pause", id2)
	e.must("kill", id2, "KILL")
	if !waitFor(10*time.Second, func() bool { return e.state(id2).Status == "stopped" }) {
		t.Errorf("SIGKILL did not kill a paused container")
	}
	e.must("delete", id2)
	const id3 = "pk3"
	e.startRunning(id3, "sleep", "1000")
	e.must("pause", id3)
	expectOneLineError(t, e.runsc("delete", id3), id3)
	e.must("delete", "--force", id3)
	e.expectEmptyRoot()
}
