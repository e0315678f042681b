package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"bulwark.dev/test/testutil"
)

// ociRuntime is one OCI runtime the suite runs against.
type ociRuntime struct {
	name   string
	bin    string
	flags  []string // global flags placed before the subcommand
	broken error    // set when the binary could not be built
}

// progResult is the outcome of one validation program under one runtime.
type progResult struct {
	name     string
	tap      tapResult
	exitCode int
	timedOut bool
	stderr   string
	leftover []int // pids killed after the program ended
}

// refusedAsExpected reports whether p is an "_fail" program (one that
// gives the runtime a spec it must refuse) that passed: such a program
// prints no TAP at all and exits 0 when create failed, and exits 1 when
// the runtime ran the container instead.
func (p progResult) refusedAsExpected() bool {
	return strings.HasSuffix(p.name, "_fail") && !p.timedOut && p.exitCode == 0 &&
		p.tap.planned < 0 && p.tap.reported() == 0 && p.tap.bailOut == ""
}

// failed reports whether the program itself went wrong: it timed out, did
// not exit 0, bailed out or printed fewer tests than it planned (unless it
// refused as expected).
func (p progResult) failed() bool {
	if p.refusedAsExpected() {
		return false
	}
	return p.timedOut || p.exitCode != 0 || p.tap.bailOut != "" || p.tap.planned < 0 ||
		p.tap.reported() < p.tap.planned
}

// why says how a failed program went wrong.
func (p progResult) why() string {
	switch {
	case p.timedOut:
		return "timed out"
	case p.exitCode != 0:
		return fmt.Sprintf("exit %d", p.exitCode)
	case p.tap.bailOut != "":
		return "bailed out: " + p.tap.bailOut
	case p.tap.planned < 0 && p.tap.last != "":
		return fmt.Sprintf("no TAP plan; output stops after %q", p.tap.last)
	case p.tap.planned < 0:
		return "no TAP output"
	default:
		return fmt.Sprintf("%d of %d planned tests reported", p.tap.reported(), p.tap.planned)
	}
}

// runProgram runs one validation program against rt. The program finds the
// runtime through $RUNTIME, which names a wrapper script that adds a fresh
// --root, so that containers it leaves behind can be found and removed.
func runProgram(s *suite, rt *ociRuntime, prog string, timeout time.Duration) (progResult, error) {
	res := progResult{name: strings.TrimSuffix(filepath.Base(prog), ".t"), exitCode: -1}
	root, err := testutil.NewStateRoot()
	if err != nil {
		return res, err
	}
	defer func() {
		if err := removeTree(root); err != nil {
			fmt.Fprintf(os.Stderr, "warning: %v\n", err)
		}
	}()
	tmp := filepath.Join(root, "tmp") // bundles go here, via $TMPDIR
	if err := os.Mkdir(tmp, 0o755); err != nil {
		return res, fmt.Errorf("creating %q: %w", tmp, err)
	}
	state := filepath.Join(root, "state")
	wrapper := filepath.Join(root, rt.name)
	cmdline := []string{shellQuote(rt.bin), "--root", shellQuote(state)}
	for _, f := range rt.flags {
		cmdline = append(cmdline, shellQuote(f))
	}
	script := fmt.Sprintf("#!/bin/sh\nexec %s \"$@\"\n", strings.Join(cmdline, " "))
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		return res, fmt.Errorf("writing %q: %w", wrapper, err)
	}

	env := append(os.Environ(), "RUNTIME="+wrapper, "TMPDIR="+tmp)
	r := testutil.Runtime{Bin: prog, Dir: s.dir, Timeout: timeout, Env: env}.Run()
	res.tap = parseTAP(r.Stdout)
	res.exitCode, res.timedOut, res.stderr = r.ExitCode, r.TimedOut, r.Stderr
	res.leftover = cleanup(wrapper, state, root)
	return res, nil
}

// cleanup force-deletes every container left in the state directory, then
// kills any process still naming the state root, and returns the pids it
// had to kill.
func cleanup(wrapper, state, root string) []int {
	entries, _ := os.ReadDir(state)
	for _, e := range entries {
		if e.IsDir() {
			testutil.Runtime{Bin: wrapper, Timeout: 30 * time.Second}.Run("delete", "--force", e.Name())
		}
	}
	return testutil.KillLeftovers(root)
}

// shellQuote quotes s for /bin/sh.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
