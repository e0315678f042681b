package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"bulwark.dev/test/testutil"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Host-side features: ps, events, cgroups and OCI hooks.

// bundleSpec writes a bundle of args after letting edit change its spec.
func (e *env) bundleSpec(edit func(*specs.Spec), args ...string) string {
	e.t.Helper()
	spec := testutil.NewSpec(testutil.SpecOptions{Args: args, Rootfs: rootfs})
	edit(spec)
	dir := filepath.Join(e.t.TempDir(), "bundle")
	if err := testutil.WriteBundle(dir, spec); err != nil {
		e.t.Fatal(err)
	}
	return dir
}

// waitFor polls cond every 50ms for up to limit.
func waitFor(limit time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
	return true
}

func TestPS(t *testing.T) {
	runscOnly(t) // runc's table is the host's ps output
	e := newEnv(t)
	const id = "ps"
	e.track(id)
	e.must("run", "--detach", "--bundle", e.bundle("sh", "-c", "sleep 1000 & sleep 1001"), id)
	var table string
	ok := waitFor(5*time.Second, func() bool {
		table = e.must("ps", id).Stdout
		return strings.Contains(table, "sleep 1000") && strings.Contains(table, "sleep 1001")
	})
	if !ok {
		t.Fatalf("ps: want both sleeps listed, got:\n%s", table)
	}
	lines := strings.Split(strings.TrimSpace(table), "\n")
	if strings.Join(strings.Fields(lines[0]), " ") != "UID PID PPID C STIME TTY TIME CMD" {
		t.Errorf("ps header: %q", lines[0])
	}
	for _, l := range lines[1:] {
		if f := strings.Fields(l); strings.HasSuffix(l, "sleep 1000") && (f[0] != "0" || f[2] != "1") {
			t.Errorf("ps row %q: want uid 0 and ppid 1 (the shell)", l)
		}
	}

	var pids []int
	r := e.must("ps", "--format", "json", id)
	if err := json.Unmarshal([]byte(r.Stdout), &pids); err != nil || len(pids) == 0 {
		t.Fatalf("ps --format json: want a non-empty array of pids, got %v:\n%s", err, r)
	}
	sandboxPid := e.state(id).Pid
	// The list is a snapshot: a stub whose address space was just released
	// (an exec) may be gone by now, so only check what is stable.
	found := false
	seen := map[int]bool{}
	for _, p := range pids {
		found = found || p == sandboxPid
		if p <= 0 || seen[p] {
			t.Errorf("ps --format json %v: pid %d is not a valid, distinct host pid", pids, p)
		}
		seen[p] = true
	}
	if !found {
		t.Errorf("ps --format json %v lacks the sandbox pid %d", pids, sandboxPid)
	}
	e.must("delete", "--force", id)
	expectOneLineError(t, e.runsc("ps", id), "does not exist")
}

// statsEvent is the part of runc's stats event the test checks.
type statsEvent struct {
	Type string `json:"type"`
	ID   string `json:"id"`
	Data struct {
		CPU struct {
			Usage struct {
				Total  uint64   `json:"total"`
				Percpu []uint64 `json:"percpu"`
			} `json:"usage"`
		} `json:"cpu"`
		Memory struct {
			Usage struct {
				Limit uint64 `json:"limit"`
				Usage uint64 `json:"usage"`
			} `json:"usage"`
		} `json:"memory"`
		Pids struct {
			Current uint64 `json:"current"`
			Limit   uint64 `json:"limit"`
		} `json:"pids"`
	} `json:"data"`
}

func TestCgroupAndEvents(t *testing.T) {
	if _, err := os.Stat("/sys/fs/cgroup/memory/memory.limit_in_bytes"); err != nil {
		t.Skip("no cgroup v1 memory controller")
	}
	e := newEnv(t)
	id := "ev" + strconv.Itoa(os.Getpid())
	// Relative: below the test's own cgroup in each hierarchy.
	cgPath := "bulwark-e2e-" + id
	const limit = 256 << 20
	bundle := e.bundleSpec(func(s *specs.Spec) {
		l := int64(limit)
		s.Linux.CgroupsPath = cgPath
		s.Linux.Resources = &specs.LinuxResources{
			Memory: &specs.LinuxMemory{Limit: &l},
			Pids:   &specs.LinuxPids{Limit: 1000},
		}
	}, "sleep", "1000")
	e.track(id)
	e.must("run", "--detach", "--bundle", bundle, id)

	own, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	memDir := ""
	for _, line := range strings.Split(string(own), "\n") {
		if parts := strings.SplitN(line, ":", 3); len(parts) == 3 && parts[1] == "memory" {
			memDir = filepath.Join("/sys/fs/cgroup/memory", parts[2], cgPath)
		}
	}
	if got, err := os.ReadFile(filepath.Join(memDir, "memory.limit_in_bytes")); err != nil || strings.TrimSpace(string(got)) != strconv.Itoa(limit) {
		t.Errorf("%s/memory.limit_in_bytes = %q, %v; want %d", memDir, got, err, limit)
	}
	procs, _ := os.ReadFile(filepath.Join(memDir, "cgroup.procs"))
	if sp := strconv.Itoa(e.state(id).Pid); !strings.Contains(" "+strings.Join(strings.Fields(string(procs)), " ")+" ", " "+sp+" ") {
		t.Errorf("sandbox pid %s not in %s/cgroup.procs: %q", sp, memDir, procs)
	}
	// Every process of the sandbox (its stubs hold the application's
	// memory) must be in the cgroup, not only the sandbox process itself.
	// The sandbox makes spare stubs in the background, so the cgroup is
	// read after the processes are listed.
	kids := descendants(e.state(id).Pid)
	procs, _ = os.ReadFile(filepath.Join(memDir, "cgroup.procs"))
	inCgroup := map[string]bool{}
	for _, p := range strings.Fields(string(procs)) {
		inCgroup[p] = true
	}
	for _, p := range kids {
		if _, err := os.Stat("/proc/" + strconv.Itoa(p)); err == nil && !inCgroup[strconv.Itoa(p)] {
			t.Errorf("sandbox descendant %d (%s) is not in %s/cgroup.procs", p, commOf(p), memDir)
		}
	}

	r := e.must("events", "--stats", id)
	var ev statsEvent
	if err := json.Unmarshal([]byte(r.Stdout), &ev); err != nil {
		t.Fatalf("events --stats: %v\n%s", err, r)
	}
	d := ev.Data
	if ev.Type != "stats" || ev.ID != id || d.Memory.Usage.Limit != limit || d.Memory.Usage.Usage == 0 ||
		d.CPU.Usage.Total == 0 || len(d.CPU.Usage.Percpu) == 0 || d.Pids.Current == 0 || d.Pids.Limit != 1000 {
		t.Errorf("events --stats: unexpected numbers:\n%s", r.Stdout)
	}

	// Streaming stops when the container stops.
	done := make(chan testutil.Result)
	go func() { done <- e.rt.Run("events", "--interval", "200ms", id) }()
	time.Sleep(700 * time.Millisecond)
	e.must("kill", id, "KILL")
	select {
	case r := <-done:
		if r.ExitCode != 0 || strings.Count(r.Stdout, `"type":"stats"`) < 2 {
			t.Errorf("events --interval: want >= 2 events and exit 0 once stopped, got:\n%s", r)
		}
	case <-time.After(10 * time.Second):
		t.Error("events --interval did not end after the container stopped")
	}

	e.must("delete", id)
	if _, err := os.Stat(memDir); !os.IsNotExist(err) {
		t.Errorf("cgroup %s left after delete", memDir)
	}
	e.expectEmptyRoot()
}

// hookScript writes an executable hook that appends "<name> <status> <pid>"
// from its stdin state to log, then exits with code.
func hookScript(t *testing.T, dir, log string) string {
	t.Helper()
	p := filepath.Join(dir, "hook.sh")
	script := `#!/bin/sh
state=$(cat)
status=$(echo "$state" | sed -n 's/.*"status":"\([a-z]*\)".*/\1/p')
echo "$1 $status" >> ` + log + `
exit $2
`
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestHooks(t *testing.T) {
	runscOnly(t) // runc runs createContainer/startContainer inside the container
	e := newEnv(t)
	dir := t.TempDir()
	log := filepath.Join(dir, "hooks.log")
	script := hookScript(t, dir, log)
	hook := func(name string, code int) specs.Hook {
		return specs.Hook{Path: script, Args: []string{"hook", name, strconv.Itoa(code)}}
	}
	bundle := e.bundleSpec(func(s *specs.Spec) {
		s.Hooks = &specs.Hooks{
			Prestart:        []specs.Hook{hook("prestart", 0)},
			CreateRuntime:   []specs.Hook{hook("createRuntime", 0)},
			CreateContainer: []specs.Hook{hook("createContainer", 0)},
			StartContainer:  []specs.Hook{hook("startContainer", 0)},
			Poststart:       []specs.Hook{hook("poststart", 0)},
			Poststop:        []specs.Hook{hook("poststop", 1)}, // failure ignored
		}
	}, "true")
	e.track("h")
	if r := e.runsc("run", "--bundle", bundle, "h"); r.ExitCode != 0 {
		t.Fatalf("run with hooks:\n%s", r)
	}
	got, _ := os.ReadFile(log)
	want := "prestart creating\ncreateRuntime creating\ncreateContainer creating\nstartContainer created\npoststart running\npoststop stopped\n"
	if string(got) != want {
		t.Errorf("hooks ran:\n%s\nwant:\n%s", got, want)
	}
	e.expectEmptyRoot()
}

func TestFailingPrestartLeavesNothing(t *testing.T) {
	runscOnly(t) // wording
	e := newEnv(t)
	dir := t.TempDir()
	log := filepath.Join(dir, "hooks.log")
	script := hookScript(t, dir, log)
	cgPath := "bulwark-e2e-fail-" + strconv.Itoa(os.Getpid())
	bundle := e.bundleSpec(func(s *specs.Spec) {
		s.Linux.CgroupsPath = cgPath
		s.Hooks = &specs.Hooks{Prestart: []specs.Hook{{Path: script, Args: []string{"hook", "prestart", "7"}}}}
	}, "true")
	e.track("f")
	r := e.runsc("create", "--bundle", bundle, "f")
	expectOneLineError(t, r, "prestart hook #0", "exit status 7")
	e.expectEmptyRoot()
	if pids := testutil.Leftovers(e.root); len(pids) > 0 {
		t.Errorf("processes left: %v", pids)
	}
	matches, _ := filepath.Glob("/sys/fs/cgroup/*/" + cgPath)
	more, _ := filepath.Glob("/sys/fs/cgroup/*/*/*/" + cgPath)
	if len(matches)+len(more) > 0 {
		t.Errorf("cgroups left: %v %v", matches, more)
	}
}

// descendants returns the pids of pid's descendant processes.
func descendants(pid int) []int {
	var out []int
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, f := range tasks {
		data, _ := os.ReadFile(f)
		for _, c := range strings.Fields(string(data)) {
			if n, err := strconv.Atoi(c); err == nil {
				out = append(out, n)
				out = append(out, descendants(n)...)
			}
		}
	}
	return out
}

// commOf is a process's name, for messages.
func commOf(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	return strings.TrimSpace(string(b))
}
