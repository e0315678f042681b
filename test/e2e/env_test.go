package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"bulwark.dev/test/testutil"
)

// cleanupTimeout bounds each command run while cleaning up.
const cleanupTimeout = 15 * time.Second

// maxTimeouts is how many runsc commands may time out before the remaining
// tests fail at once: a runsc that hangs must not make the suite take hours.
const maxTimeouts = 3

// timeouts counts the runsc commands of this run that timed out.
var timeouts atomic.Int32

// env is one test's runsc: a fresh --root, a --debug-log directory dumped
// into the test log when the test fails, and the containers to force-delete
// when it ends.
type env struct {
	t    *testing.T
	root string // --root, short for the unix sockets under it
	logs string // --debug-log directory
	rt   testutil.Runtime
	ids  []string
}

// newEnv returns a fresh environment whose commands run with --root,
// --debug-log and the extra global flags.
func newEnv(t *testing.T, global ...string) *env {
	t.Helper()
	if n := timeouts.Load(); n >= maxTimeouts {
		t.Fatalf("not run: %d runsc commands already timed out in this run (see the first failing tests)", n)
	}
	root, err := testutil.NewStateRoot()
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, root: root, logs: t.TempDir()}
	e.rt = testutil.Runtime{
		Bin:     runscBin,
		Global:  append([]string{"--root", root, "--debug-log", e.logs + "/"}, global...),
		Timeout: *cmdTimeout,
	}
	if *runcFlag {
		e.rt.Global = []string{"--root", root, "--debug", "--log", filepath.Join(e.logs, "runc.log")}
	}
	t.Cleanup(e.cleanup)
	return e
}

// cleanup force-deletes the tracked containers, kills whatever still runs
// under the root, dumps the debug logs if the test failed and removes the
// root.
func (e *env) cleanup() {
	quick := e.rt
	quick.Timeout = min(cleanupTimeout, *cmdTimeout)
	for _, id := range e.ids {
		if r := quick.Run("delete", "--force", id); r.TimedOut {
			timeouts.Add(1)
			e.t.Errorf("cleanup: %s", r)
		}
	}
	if pids := e.leftovers(); len(pids) > 0 {
		if !e.t.Failed() {
			e.t.Errorf("processes still running under --root %s after the test: %v", e.root, pids)
		}
		testutil.KillLeftovers(e.root)
	}
	if e.t.Failed() {
		e.dumpLogs()
	}
	os.RemoveAll(e.root)
}

// leftovers waits up to two seconds for the processes naming the root to
// go away and returns those that did not.
func (e *env) leftovers() []int {
	deadline := time.Now().Add(2 * time.Second)
	for {
		pids := testutil.Leftovers(e.root)
		if len(pids) == 0 || time.Now().After(deadline) {
			return pids
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// dumpLogs writes the tail of every debug log into the test log.
func (e *env) dumpLogs() {
	const maxBytes = 16 << 10
	files, _ := os.ReadDir(e.logs)
	if len(files) == 0 {
		e.t.Logf("no debug logs were written to %s", e.logs)
	}
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(e.logs, f.Name()))
		if err != nil {
			e.t.Logf("reading debug log %s: %v", f.Name(), err)
			continue
		}
		if len(data) > maxBytes {
			data = append([]byte("[...]\n"), data[len(data)-maxBytes:]...)
		}
		e.t.Logf("==== debug log %s ====\n%s", f.Name(), data)
	}
}

// track registers a container id for forced deletion at cleanup.
func (e *env) track(id string) { e.ids = append(e.ids, id) }

// runsc runs runsc with the environment's global flags and args.
func (e *env) runsc(args ...string) testutil.Result {
	e.t.Helper()
	r := e.rt.Run(args...)
	e.t.Logf("$ %s  -> exit %d (%v)", strings.Join(r.Args, " "), r.ExitCode, r.Duration.Round(time.Millisecond))
	if r.TimedOut {
		timeouts.Add(1)
	}
	return r
}

// must runs runsc and fails the test unless it exits 0.
func (e *env) must(args ...string) testutil.Result {
	e.t.Helper()
	r := e.runsc(args...)
	if r.ExitCode != 0 || r.Err != nil {
		e.t.Fatalf("runsc %s failed:\n%s", args[0], r)
	}
	return r
}

// bundle writes a fresh bundle running args on the busybox rootfs.
func (e *env) bundle(args ...string) string {
	e.t.Helper()
	return e.bundleWith(testutil.SpecOptions{Args: args})
}

// bundleWith writes a fresh bundle from opts; Rootfs defaults to the cached
// busybox rootfs.
func (e *env) bundleWith(opts testutil.SpecOptions) string {
	e.t.Helper()
	if opts.Rootfs == "" {
		opts.Rootfs = rootfs
	}
	dir := filepath.Join(e.t.TempDir(), "bundle")
	if err := testutil.WriteBundle(dir, testutil.NewSpec(opts)); err != nil {
		e.t.Fatal(err)
	}
	return dir
}

// run runs a container of args in the foreground (`runsc run`) and returns
// the result, whatever the exit status.
func (e *env) run(id string, args ...string) testutil.Result {
	e.t.Helper()
	e.track(id)
	return e.runsc("run", "--bundle", e.bundle(args...), id)
}

// create creates (but does not start) a container of args.
func (e *env) create(id string, args ...string) {
	e.t.Helper()
	e.track(id)
	e.must("create", "--bundle", e.bundle(args...), id)
}

// ociState is runc's `state` JSON.
type ociState struct {
	OCIVersion string `json:"ociVersion"`
	ID         string `json:"id"`
	Status     string `json:"status"`
	Pid        int    `json:"pid"`
	Bundle     string `json:"bundle"`
}

// state runs `runsc state id` and parses it, checking every field runc
// prints is present.
func (e *env) state(id string) ociState {
	e.t.Helper()
	r := e.must("state", id)
	var fields map[string]json.RawMessage
	if err := json.Unmarshal([]byte(r.Stdout), &fields); err != nil {
		e.t.Fatalf("state %s: output is not a JSON object: %v\n%s", id, err, r)
	}
	for _, k := range []string{"ociVersion", "id", "status", "pid", "bundle"} {
		if _, ok := fields[k]; !ok {
			e.t.Errorf("state %s: JSON lacks %q:\n%s", id, k, r.Stdout)
		}
	}
	var s ociState
	if err := json.Unmarshal([]byte(r.Stdout), &s); err != nil {
		e.t.Fatalf("state %s: %v\n%s", id, err, r)
	}
	if s.ID != id || s.OCIVersion == "" {
		e.t.Errorf("state %s: id %q ociVersion %q", id, s.ID, s.OCIVersion)
	}
	return s
}

// waitStatus runs `runsc wait id` and returns the exitStatus it prints.
func (e *env) waitStatus(id string) int {
	e.t.Helper()
	r := e.must("wait", id)
	var w struct {
		ID         string `json:"id"`
		ExitStatus *int   `json:"exitStatus"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &w); err != nil || w.ExitStatus == nil {
		e.t.Fatalf("wait %s: want {\"id\":..,\"exitStatus\":N}, got error %v:\n%s", id, err, r)
	}
	if w.ID != id {
		e.t.Errorf("wait %s: id %q in %s", id, w.ID, r.Stdout)
	}
	return *w.ExitStatus
}

// expectEmptyRoot fails the test if anything is left under --root.
func (e *env) expectEmptyRoot() {
	e.t.Helper()
	names, err := testutil.DirEntries(e.root)
	if err != nil {
		e.t.Fatal(err)
	}
	if len(names) > 0 {
		e.t.Errorf("left under --root %s: %v", e.root, names)
	}
}

// expectOneLineError checks r is a clean failure: exit status 1, exactly
// one non-empty line on stderr, no panic or goroutine dump, and stderr
// containing each of wants.
func expectOneLineError(t *testing.T, r testutil.Result, wants ...string) {
	t.Helper()
	msg := strings.TrimSpace(r.Stderr)
	switch {
	case r.Err != nil || r.ExitCode != 1:
		t.Errorf("want exit status 1, got:\n%s", r)
	case msg == "":
		t.Errorf("want an error message on stderr, got none:\n%s", r)
	case strings.Contains(msg, "\n"):
		t.Errorf("want exactly one line on stderr, got %d:\n%s", strings.Count(msg, "\n")+1, r)
	case strings.Contains(msg, "panic") || strings.Contains(msg, "goroutine"):
		t.Errorf("stderr shows a panic:\n%s", r)
	}
	for _, w := range wants {
		if !strings.Contains(msg, w) {
			t.Errorf("stderr %q does not mention %q", msg, w)
		}
	}
}
