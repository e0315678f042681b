package e2e

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// TestProfileCPU runs a container that keeps the sandbox kernel busy (a
// few thousand opens and writes) with --profile-cpu and checks the file
// holds a pprof profile (gzip-compressed protocol buffer) of the sandbox's
// code once the container has exited.
func TestProfileCPU(t *testing.T) {
	runscOnly(t)
	path := filepath.Join(t.TempDir(), "cpu.pprof")
	e := newEnv(t, "--profile-cpu", path)
	r := e.run("c", "sh", "-c", "i=0; while [ $i -lt 5000 ]; do echo $i > /tmp/f; i=$((i+1)); done; cat /tmp/f")
	if r.Err != nil || r.Stdout != "4999\n" || r.ExitCode != 0 {
		t.Fatalf("run: want \"4999\\n\" and status 0, got:\n%s", r)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading the profile: %v", err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("the profile (%d bytes) is not gzip-compressed: %v", len(data), err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("decompressing the profile: %v", err)
	}
	// The profile names the sandbox's functions, as a CPU profile does.
	for _, want := range []string{"samples", "cpu", "bulwark.dev/pkg/kernel"} {
		if !bytes.Contains(raw, []byte(want)) {
			t.Errorf("the profile (%d bytes) does not mention %q", len(raw), want)
		}
	}
	e.expectEmptyRoot()
}

// TestProfileCPUBadPath: a profile that cannot be created fails the
// create with one line and leaves nothing behind.
func TestProfileCPUBadPath(t *testing.T) {
	runscOnly(t)
	e := newEnv(t, "--profile-cpu", "/nonexistent/bw-dir/cpu.pprof")
	r := e.runsc("create", "--bundle", e.bundle("true"), "c")
	expectOneLineError(t, r, "/nonexistent/bw-dir/cpu.pprof")
	e.expectEmptyRoot()
	if pids := e.leftovers(); len(pids) > 0 {
		t.Errorf("failed create left processes running: %v", pids)
	}
}
