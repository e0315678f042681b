package container

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// shHook is a hook running script with /bin/sh; "$@" are the extra args.
func shHook(script string, extra ...string) specs.Hook {
	return specs.Hook{Path: "/bin/sh", Args: append([]string{"sh", "-c", script, "hook"}, extra...)}
}

// recordHook appends "<name> <state JSON>" to log.
func recordHook(log, name string) specs.Hook {
	return shHook(`printf '%s %s\n' "$1" "$(cat)" >> "$2"`, name, log)
}

type hookRecord struct {
	name  string
	state State
}

func readRecords(t *testing.T, log string) []hookRecord {
	t.Helper()
	f, err := os.Open(log)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var recs []hookRecord
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, js, _ := strings.Cut(sc.Text(), " ")
		var r hookRecord
		r.name = name
		if err := json.Unmarshal([]byte(js), &r.state); err != nil {
			t.Fatalf("hook %s got state %q: %v", name, js, err)
		}
		recs = append(recs, r)
	}
	return recs
}

func TestHooksOrderAndState(t *testing.T) {
	fake := newFake(t)
	env := newEnv(t)
	log := filepath.Join(t.TempDir(), "hooks.log")
	args := env.args("c")
	args.Spec.Hooks = &specs.Hooks{
		Prestart:        []specs.Hook{recordHook(log, "prestart1"), recordHook(log, "prestart2")},
		CreateRuntime:   []specs.Hook{recordHook(log, "createRuntime")},
		CreateContainer: []specs.Hook{recordHook(log, "createContainer")},
		StartContainer:  []specs.Hook{recordHook(log, "startContainer")},
		Poststart:       []specs.Hook{recordHook(log, "poststart")},
		Poststop:        []specs.Hook{recordHook(log, "poststop")},
	}
	c, err := New(env.conf, args)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	fake.exit("c", 0)
	c, _ = Load(env.conf.Root, "c")
	if err := c.Delete(false); err != nil {
		t.Fatal(err)
	}
	want := []struct {
		name   string
		status Status
		pid    int
	}{
		{"prestart1", Creating, 1001}, {"prestart2", Creating, 1001}, {"createRuntime", Creating, 1001},
		{"createContainer", Creating, 1001}, {"startContainer", Created, 1001},
		{"poststart", Running, 1001}, {"poststop", Stopped, 0},
	}
	recs := readRecords(t, log)
	if len(recs) != len(want) {
		t.Fatalf("ran %d hooks, want %d: %+v", len(recs), len(want), recs)
	}
	for i, w := range want {
		r := recs[i]
		if r.name != w.name || r.state.Status != w.status || r.state.Pid != w.pid || r.state.ID != "c" || r.state.Bundle != env.bundle {
			t.Errorf("hook %d: %s with state %+v; want %s status %s pid %d", i, r.name, r.state, w.name, w.status, w.pid)
		}
	}
}

func TestHookEnvAndArgs(t *testing.T) {
	newFake(t)
	env := newEnv(t)
	out := filepath.Join(t.TempDir(), "out")
	args := env.args("c")
	h := shHook(`echo "$FOO $1" > "$2"`, "arg1", out)
	h.Env = []string{"FOO=bar"}
	args.Spec.Hooks = &specs.Hooks{CreateRuntime: []specs.Hook{h}}
	if _, err := New(env.conf, args); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(out); string(got) != "bar arg1\n" {
		t.Errorf("hook wrote %q, want \"bar arg1\\n\"", got)
	}
}

// A failing create hook aborts the create: the sandbox is destroyed, the
// poststop hooks run and nothing is left under --root.
func TestFailingCreateHooks(t *testing.T) {
	for _, kind := range []string{"prestart", "createRuntime", "createContainer", "timeout"} {
		t.Run(kind, func(t *testing.T) {
			fake := newFake(t)
			env := newEnv(t)
			log := filepath.Join(t.TempDir(), "hooks.log")
			bad := shHook("echo oops >&2; exit 3")
			wantErr := "exit status 3: oops"
			hooks := &specs.Hooks{Poststop: []specs.Hook{recordHook(log, "poststop")}}
			switch kind {
			case "prestart":
				hooks.Prestart = []specs.Hook{bad}
			case "createRuntime":
				hooks.CreateRuntime = []specs.Hook{bad}
			case "createContainer":
				hooks.CreateContainer = []specs.Hook{recordHook(log, "first"), bad, recordHook(log, "never")}
			case "timeout":
				one := 1
				slow := shHook("sleep 30")
				slow.Timeout = &one
				hooks.CreateRuntime = []specs.Hook{slow}
				wantErr = "timed out after 1s"
			}
			args := env.args("c")
			args.Spec.Hooks = hooks
			start := time.Now()
			_, err := New(env.conf, args)
			if err == nil || !strings.Contains(err.Error(), wantErr) {
				t.Fatalf("New = %v, want error containing %q", err, wantErr)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("create took %v", d)
			}
			if fake.boxes["c"].destroys != 1 {
				t.Error("sandbox not destroyed")
			}
			if left := env.rootEntries(t); len(left) != 0 {
				t.Errorf("left under --root: %v", left)
			}
			var names []string
			for _, r := range readRecords(t, log) {
				names = append(names, r.name)
			}
			want := "poststop"
			if kind == "createContainer" {
				want = "first poststop"
			}
			if strings.Join(names, " ") != want {
				t.Errorf("hooks run: %v, want %s", names, want)
			}
		})
	}
}

func TestFailingStartContainerHook(t *testing.T) {
	fake := newFake(t)
	env := newEnv(t)
	args := env.args("c")
	args.Spec.Hooks = &specs.Hooks{StartContainer: []specs.Hook{shHook("exit 1")}}
	c, err := New(env.conf, args)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err == nil || !strings.Contains(err.Error(), "startContainer hook #0") {
		t.Fatalf("Start = %v", err)
	}
	if fake.boxes["c"].started || fake.boxes["c"].destroys != 1 {
		t.Errorf("init started %v, sandbox destroyed %d times; want not started, destroyed", fake.boxes["c"].started, fake.boxes["c"].destroys)
	}
	c, _ = Load(env.conf.Root, "c")
	if c.Status != Stopped {
		t.Errorf("status %s, want stopped", c.Status)
	}
	if err := c.Delete(false); err != nil {
		t.Fatal(err)
	}
}

func TestFailingPostHooksIgnored(t *testing.T) {
	fake := newFake(t)
	env := newEnv(t)
	args := env.args("c")
	args.Spec.Hooks = &specs.Hooks{Poststart: []specs.Hook{shHook("exit 1")}, Poststop: []specs.Hook{shHook("exit 1")}}
	c, err := New(env.conf, args)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatalf("Start with failing poststart = %v", err)
	}
	fake.exit("c", 0)
	if err := c.Delete(true); err != nil {
		t.Fatalf("Delete with failing poststop = %v", err)
	}
	if left := env.rootEntries(t); len(left) != 0 {
		t.Errorf("left under --root: %v", left)
	}
}

func TestProcessesNeedsRunning(t *testing.T) {
	fake := newFake(t)
	env := newEnv(t)
	c := env.mustNew(t, "c")
	if ps, err := c.Processes(); err != nil || len(ps) != 1 {
		t.Errorf("Processes = %v, %v", ps, err)
	}
	if _, err := c.Stats(); err == nil || !strings.Contains(err.Error(), "no cgroup") {
		t.Errorf("Stats without cgroup = %v", err)
	}
	fake.boxes["c"].running = false
	c, _ = Load(env.conf.Root, "c")
	if _, err := c.Processes(); err == nil || !strings.Contains(err.Error(), "not running") {
		t.Errorf("Processes of stopped = %v", err)
	}
}
