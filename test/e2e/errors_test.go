package e2e

import (
	"os"
	"path/filepath"
	"testing"

	"bulwark.dev/test/testutil"
)

// Each bad input gets one clear line on stderr, exit status 1 and no state.

func TestCreateBadInput(t *testing.T) {
	runscOnly(t) // runc's messages differ
	type input struct {
		name   string
		bundle func(e *env) string
		id     string
		wants  []string
	}
	missing := "/nonexistent/bw-bundle"
	for _, c := range []input{
		{"missing-bundle", func(*env) string { return missing }, "c", []string{missing}},
		{"invalid-json", func(e *env) string {
			dir := e.t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte("not json"), 0o644); err != nil {
				e.t.Fatal(err)
			}
			return dir
		}, "c", []string{"config.json"}},
		{"no-args", func(e *env) string { return e.bundleWith(testutil.SpecOptions{Args: []string{}}) }, "c", []string{"args"}},
		{"missing-rootfs", func(e *env) string {
			return e.bundleWith(testutil.SpecOptions{Args: []string{"true"}, Rootfs: "/nonexistent/bw-rootfs"})
		}, "c", []string{"/nonexistent/bw-rootfs"}},
		{"slash-id", func(e *env) string { return e.bundle("true") }, "a/b", []string{"a/b"}},
		{"dotdot-id", func(e *env) string { return e.bundle("true") }, "..", []string{".."}},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			r := e.runsc("create", "--bundle", c.bundle(e), c.id)
			expectOneLineError(t, r, c.wants...)
			e.expectEmptyRoot()
			if pids := e.leftovers(); len(pids) > 0 {
				t.Errorf("failed create left processes running: %v", pids)
			}
		})
	}
}

func TestUnknownID(t *testing.T) {
	runscOnly(t)
	for _, args := range [][]string{
		{"state", "nope"}, {"start", "nope"}, {"kill", "nope", "KILL"}, {"delete", "nope"}, {"wait", "nope"},
	} {
		t.Run(args[0], func(t *testing.T) {
			e := newEnv(t)
			expectOneLineError(t, e.runsc(args...), `"nope"`, "does not exist")
			e.expectEmptyRoot()
		})
	}
}

func TestStartTwice(t *testing.T) {
	runscOnly(t)
	e := newEnv(t)
	const id = "twice"
	e.create(id, "sleep", "1000")
	e.must("start", id)
	expectOneLineError(t, e.runsc("start", id))
	if st := e.state(id); st.Status != "running" {
		t.Errorf("a refused start changed the container: %+v", st)
	}
	e.must("delete", "--force", id)
	e.expectEmptyRoot()
}

func TestKillStopped(t *testing.T) {
	runscOnly(t)
	e := newEnv(t)
	const id = "stopped"
	e.track(id)
	e.must("run", "--detach", "--bundle", e.bundle("true"), id)
	if got := e.waitStatus(id); got != 0 {
		t.Errorf("wait: exitStatus %d, want 0", got)
	}
	expectOneLineError(t, e.runsc("kill", id, "KILL"), id, "not running")
	e.must("delete", id)
	e.expectEmptyRoot()
}
