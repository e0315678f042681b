package testutil

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestBundleRunsUnderRunc checks the harness against the reference runtime:
// the cached busybox rootfs and a generated bundle run under runc exactly as
// the e2e tests expect them to run under runsc.
func TestBundleRunsUnderRunc(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("this test runs runc and must run as root")
	}
	runc, err := exec.LookPath("runc")
	if err != nil {
		t.Fatalf("runc not found (run: apt-get install runc): %v", err)
	}
	repo, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	rootfs, err := CachedBusyboxRootfs(repo)
	if err != nil {
		t.Fatal(err)
	}
	root, err := NewStateRoot()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		KillLeftovers(root)
		os.RemoveAll(root)
	})
	rt := Runtime{Bin: runc, Global: []string{"--root", root}}
	for i, c := range []struct {
		args []string
		out  string
		code int
	}{
		{[]string{"echo", "hello"}, "hello\n", 0},
		{[]string{"sh", "-c", "exit 3"}, "", 3},
		{[]string{"sh", "-c", "kill -9 $$; echo survived"}, "survived\n", 0}, // pid 1 ignores it
		{[]string{"sh", "-c", `sh -c 'kill -9 $$'; exit $?`}, "", 137},
		{[]string{"sh", "-c", "echo a b c | wc -w; echo $(echo sub)"}, "3\nsub\n", 0},
		{[]string{"sh", "-c", "echo x > /tmp/f; cat /tmp/f; head -c 5 /dev/zero | wc -c"}, "x\n5\n", 0},
	} {
		bundle := filepath.Join(t.TempDir(), "bundle")
		if err := WriteBundle(bundle, NewSpec(SpecOptions{Args: c.args, Rootfs: rootfs})); err != nil {
			t.Fatal(err)
		}
		r := rt.Run("run", "--bundle", bundle, fmt.Sprintf("testutil-%d", i))
		if r.Stdout != c.out || r.ExitCode != c.code {
			t.Errorf("runc run %q: want stdout %q exit %d, got\n%s", c.args, c.out, c.code, r)
		}
	}
	if names, _ := DirEntries(root); len(names) != 0 {
		t.Errorf("runc left %v under its root", names)
	}
	if _, err := os.Stat(filepath.Join(rootfs, "tmp/f")); err == nil {
		t.Errorf("a file written to the container's /tmp reached the rootfs")
	}
	if strings.Contains(rootfs, " ") {
		t.Errorf("rootfs path %q has a space", rootfs)
	}
}
