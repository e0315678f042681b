package conformance

import (
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"bulwark.dev/test/testutil"
)

// cleanupTimeout bounds each command run while cleaning up a container.
const cleanupTimeout = 15 * time.Second

// timeouts counts the programs of this run that timed out.
var timeouts atomic.Int32

// TestConformance compiles and runs every program under src/ in its own
// container, one subtest per program: TestConformance/<area>/<name>.
func TestConformance(t *testing.T) {
	progs, err := FindPrograms(srcDir)
	if err != nil {
		t.Fatal(err)
	}
	if runtimeErr != nil {
		t.Errorf("no %s to test; every program is reported as not run:\n%v", runtimeName, runtimeErr)
	}
	for _, p := range progs {
		t.Run(p.ID(), func(t *testing.T) { runProgram(t, p) })
	}
}

// runProgram compiles p, runs it and turns its output into test failures.
func runProgram(t *testing.T, p Program) {
	if err := Compile(p, rootfs); err != nil {
		tally.Add(p, Report{}, "does not compile")
		t.Fatal(err)
	}
	if runtimeErr != nil {
		tally.Add(p, Report{}, "not run: no "+runtimeName)
		t.Fatalf("%s: not run: %s did not build (see TestConformance)", p.ID(), runtimeName)
	}
	if n := timeouts.Load(); int(n) >= *maxTimeouts {
		tally.Add(p, Report{}, "not run: too many timeouts")
		t.Fatalf("%s: not run: %d programs already timed out in this run (see the first failures)", p.ID(), n)
	}
	res, logs := runContainer(t, p)
	if res.TimedOut {
		timeouts.Add(1)
	}
	rep, broken := Evaluate(res, *progTimeout)
	for _, a := range rep.Failed() {
		t.Errorf("%s: %s", p.ID(), a)
	}
	for _, b := range broken {
		t.Errorf("%s: %s", p.ID(), b)
	}
	if len(rep.Other) > 0 {
		t.Logf("%s: other output lines:\n%s", p.ID(), strings.Join(rep.Other, "\n"))
	}
	if len(broken) > 0 {
		t.Logf("%s: after %d results:\n%s", p.ID(), len(rep.Assertions), res)
	}
	if t.Failed() {
		dumpLogs(t, logs)
	}
	why := ""
	if len(broken) > 0 {
		why = broken[0]
	}
	tally.Add(p, rep, why)
}

// runContainer runs p in a fresh container (fresh --root, fresh bundle on
// the shared rootfs copy) with `run`, force-deletes it and kills whatever
// is left, and returns the result and the debug log directory.
func runContainer(t *testing.T, p Program) (testutil.Result, string) {
	root, err := testutil.NewStateRoot()
	if err != nil {
		t.Fatal(err)
	}
	logs := t.TempDir()
	rt := testutil.Runtime{Bin: runtimeBin, Timeout: *progTimeout}
	if *runcFlag {
		rt.Global = []string{"--root", root, "--log", filepath.Join(logs, "runc.log")}
	} else {
		rt.Global = []string{"--root", root, "--debug-log", logs + "/"}
	}
	bundle := filepath.Join(t.TempDir(), "bundle")
	spec, err := programSpec(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := testutil.WriteBundle(bundle, spec); err != nil {
		t.Fatal(err)
	}
	id := "conf-" + p.Area + "-" + p.Name
	res := rt.Run("run", "--bundle", bundle, id)
	t.Logf("$ %s  -> exit %d (%v)", strings.Join(res.Args, " "), res.ExitCode, res.Duration.Round(time.Millisecond))

	quick := rt
	quick.Timeout = min(cleanupTimeout, *progTimeout)
	if r := quick.Run("delete", "--force", id); r.TimedOut {
		t.Errorf("cleanup: %s", r)
	}
	if pids := testutil.KillLeftovers(root); len(pids) > 0 {
		t.Logf("killed processes left under --root %s: %v", root, pids)
	}
	os.RemoveAll(root)
	return res, logs
}

// dumpLogs writes the tail of every debug log into the test log.
func dumpLogs(t *testing.T, dir string) {
	const maxBytes = 8 << 10
	files, _ := os.ReadDir(dir)
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(dir, f.Name()))
		if err != nil || len(data) == 0 {
			continue
		}
		if len(data) > maxBytes {
			data = append([]byte("[...]\n"), data[len(data)-maxBytes:]...)
		}
		t.Logf("==== debug log %s ====\n%s", f.Name(), data)
	}
}
