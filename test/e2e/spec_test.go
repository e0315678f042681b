package e2e

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"bulwark.dev/test/testutil"
)

func TestSpec(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	rt := e.rt
	rt.Dir = dir
	if r := rt.Run("spec"); r.ExitCode != 0 || r.Err != nil {
		t.Fatalf("spec in an empty directory:\n%s", r)
	}
	spec, err := testutil.ReadSpec(dir)
	if err != nil {
		t.Fatalf("spec wrote no valid config.json: %v", err)
	}
	if spec.Version == "" || spec.Process == nil || len(spec.Process.Args) == 0 || spec.Root == nil || spec.Root.Path != "rootfs" {
		t.Errorf("config.json: want ociVersion, process.args and root.path \"rootfs\", got %+v", spec)
	}
	before, _ := os.ReadFile(filepath.Join(dir, "config.json"))

	r := rt.Run("spec")
	if r.ExitCode == 0 {
		t.Errorf("a second spec overwrote config.json:\n%s", r)
	} else if !*runcFlag {
		expectOneLineError(t, r, "config.json")
	}
	if after, _ := os.ReadFile(filepath.Join(dir, "config.json")); !bytes.Equal(before, after) {
		t.Error("a refused spec changed config.json")
	}

	other := t.TempDir()
	if r := e.runsc("spec", "--bundle", other); r.ExitCode != 0 {
		t.Fatalf("spec --bundle:\n%s", r)
	}
	if _, err := testutil.ReadSpec(other); err != nil {
		t.Errorf("spec --bundle %s: %v", other, err)
	}
	e.expectEmptyRoot()
}
