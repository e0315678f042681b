package docker

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// trapTerm is an init that prints "started", then exits 0 on SIGTERM.
const trapTerm = `trap 'echo got-TERM; exit 0' TERM; echo started; while true; do sleep 0.2; done`

// TestDockerStopGraceful: `docker run -d`, `docker logs`, then `docker stop`
// delivers SIGTERM to an init that handles it: it exits 0 well before the
// timeout; `docker rm` removes it.
func TestDockerStopGraceful(t *testing.T) {
	start(t)
	name := "bw-stop-graceful"
	runDetached(t, name, "--runtime="+runtimeNone, busyboxImage, "sh", "-c", trapTerm)
	waitForLogs(t, name, "started", 20*time.Second)
	if got := inspect(t, name, "{{.State.Status}}"); got != "running" {
		t.Fatalf("status = %q, want running", got)
	}
	begin := time.Now()
	mustOK(t, docker(t, "stop", "-t", "10", name))
	if d := time.Since(begin); d > 8*time.Second {
		t.Errorf("docker stop took %v: SIGTERM did not end the container (it was killed at the timeout)", d)
	}
	if got := inspect(t, name, "{{.State.ExitCode}}"); got != "0" {
		t.Errorf("exit code after SIGTERM = %s, want 0 (the init's trap exits 0)", got)
	}
	res := docker(t, "logs", name)
	mustOK(t, res)
	if res.Stdout != "started\ngot-TERM\n" {
		t.Errorf("docker logs = %q, want %q", res.Stdout, "started\ngot-TERM\n")
	}
	mustOK(t, docker(t, "rm", name))
	if res := docker(t, "ps", "-a", "-q", "--filter", "name=^"+name+"$"); strings.TrimSpace(res.Stdout) != "" {
		t.Errorf("container still listed after docker rm: %q", res.Stdout)
	}
}

// TestDockerStopKillsAfterTimeout: an init that ignores SIGTERM is killed
// with SIGKILL when `docker stop -t 2` times out: exit code 137.
func TestDockerStopKillsAfterTimeout(t *testing.T) {
	start(t)
	name := "bw-stop-kill"
	runDetached(t, name, "--runtime="+runtimeNone, busyboxImage, "sh", "-c", `trap "" TERM; echo started; sleep 100`)
	waitForLogs(t, name, "started", 20*time.Second)
	begin := time.Now()
	mustOK(t, docker(t, "stop", "-t", "2", name))
	d := time.Since(begin)
	if d < 2*time.Second {
		t.Errorf("docker stop took only %v: the init should have ignored SIGTERM for the 2s timeout", d)
	}
	if d > 15*time.Second {
		t.Errorf("docker stop took %v: SIGKILL did not end the container promptly", d)
	}
	if got := inspect(t, name, "{{.State.ExitCode}}"); got != "137" {
		t.Errorf("exit code = %s, want 137 (SIGKILL)", got)
	}
	mustOK(t, docker(t, "rm", name))
}

// TestDockerExec: `docker exec` runs a process in a running container; its
// output and exit code come back.
func TestDockerExec(t *testing.T) {
	start(t)
	name := "bw-exec"
	runDetached(t, name, "--runtime="+runtimeNone, busyboxImage, "sh", "-c", "echo data > /tmp/f; echo started; sleep 100")
	waitForLogs(t, name, "started", 20*time.Second)
	res := docker(t, "exec", name, "sh", "-c", "cat /tmp/f; echo out-$((6*7)); exit 5")
	if res.ExitCode != 5 || res.Stdout != "data\nout-42\n" {
		t.Errorf("docker exec: want exit 5 and stdout %q\n%s", "data\nout-42\n", res)
	}
	res = docker(t, "exec", "-e", "FOO=bar", "-w", "/tmp", name, "sh", "-c", "echo $FOO $(pwd)")
	if res.ExitCode != 0 || res.Stdout != "bar /tmp\n" {
		t.Errorf("docker exec -e -w: want stdout %q\n%s", "bar /tmp\n", res)
	}
	if got := inspect(t, name, "{{.State.Status}}"); got != "running" {
		t.Errorf("container status after exec = %q, want running", got)
	}
}

// TestDockerTop: `docker top` lists the container's processes.
func TestDockerTop(t *testing.T) {
	start(t)
	name := "bw-top"
	runDetached(t, name, "--runtime="+runtimeNone, busyboxImage, "sh", "-c", "echo started; sleep 100")
	waitForLogs(t, name, "started", 20*time.Second)
	res := docker(t, "top", name)
	mustOK(t, res)
	lines := strings.Split(strings.TrimSpace(res.Stdout), "\n")
	if len(lines) < 2 || !strings.Contains(lines[0], "PID") || !strings.Contains(lines[0], "CMD") {
		t.Errorf("docker top: want a PID ... CMD header and at least one process:\n%s", res)
	}
}

// statsFormat selects the columns TestDockerStats checks.
const statsFormat = "{{.CPUPerc}}|{{.MemUsage}}|{{.PIDs}}"

var (
	cpuRE = regexp.MustCompile(`^\d+\.\d+%$`)
	memRE = regexp.MustCompile(`^\d+(\.\d+)?[KMGT]?i?B / \d+(\.\d+)?[KMGT]?i?B$`)
)

// TestDockerStats: `docker stats --no-stream` reports CPU, memory and pids
// of a running container.
func TestDockerStats(t *testing.T) {
	start(t)
	name := "bw-stats"
	runDetached(t, name, "--runtime="+runtimeNone, busyboxImage, "sh", "-c", "echo started; sleep 100")
	waitForLogs(t, name, "started", 20*time.Second)
	res := docker(t, "stats", "--no-stream", name)
	mustOK(t, res)
	if !strings.Contains(res.Stdout, "CPU %") || !strings.Contains(res.Stdout, "MEM USAGE / LIMIT") {
		t.Errorf("docker stats: no CPU %% / MEM USAGE columns:\n%s", res)
	}
	res = docker(t, "stats", "--no-stream", "--format", statsFormat, name)
	mustOK(t, res)
	f := strings.Split(strings.TrimSpace(res.Stdout), "|")
	if len(f) != 3 {
		t.Fatalf("docker stats --format %q: want 3 fields\n%s", statsFormat, res)
	}
	if !cpuRE.MatchString(f[0]) {
		t.Errorf("CPU %% = %q, want a percentage", f[0])
	}
	if !memRE.MatchString(f[1]) || strings.HasPrefix(f[1], "0B ") {
		t.Errorf("memory usage = %q, want a non-zero usage / limit", f[1])
	}
	if n, err := strconv.Atoi(f[2]); err != nil || n < 1 {
		t.Errorf("PIDs = %q, want at least 1", f[2])
	}
}

// counter prints an increasing number every 100ms.
const counter = `i=0; while true; do i=$((i+1)); echo $i; sleep 0.1; done`

// TestDockerPause: a paused container shows "paused" and makes no progress;
// after unpause it runs on.
func TestDockerPause(t *testing.T) {
	start(t)
	name := "bw-pause"
	runDetached(t, name, "--runtime="+runtimeNone, busyboxImage, "sh", "-c", counter)
	waitForLogs(t, name, "3\n", 20*time.Second)
	mustOK(t, docker(t, "pause", name))
	if got := inspect(t, name, "{{.State.Status}}"); got != "paused" {
		t.Errorf("status after pause = %q, want paused", got)
	}
	// Output written just before the pause may still be on its way to the
	// log: wait until two reads agree, then watch for a second.
	before := lineCount(t, name)
	if !waitFor(10*time.Second, func() bool {
		n := before
		time.Sleep(200 * time.Millisecond)
		before = lineCount(t, name)
		return n == before
	}) {
		t.Fatalf("the paused container's output never stopped growing (%d lines)", before)
	}
	time.Sleep(time.Second) // the observation window, not a wait for readiness
	if after := lineCount(t, name); after != before {
		t.Errorf("the paused container kept running: %d lines of output, then %d a second later", before, after)
	}
	mustOK(t, docker(t, "unpause", name))
	if got := inspect(t, name, "{{.State.Status}}"); got != "running" {
		t.Errorf("status after unpause = %q, want running", got)
	}
	n := lineCount(t, name)
	if !waitFor(5*time.Second, func() bool { return lineCount(t, name) > n+2 }) {
		t.Errorf("the container made no progress after unpause")
	}
}

// lineCount returns how many lines `docker logs name` shows.
func lineCount(t *testing.T, name string) int {
	t.Helper()
	res := dockerd.CLI.Run("logs", name)
	mustOK(t, res)
	return strings.Count(res.Stdout, "\n")
}
