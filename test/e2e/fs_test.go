package e2e

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"bulwark.dev/test/testutil"
)

func TestTmpStaysInside(t *testing.T) {
	e := newEnv(t)
	name := fmt.Sprintf("bw-e2e-%d", rand.Uint64())
	r := e.run("c", "sh", "-c", "echo x > /tmp/"+name+"; cat /tmp/"+name)
	if r.Stdout != "x\n" || r.ExitCode != 0 {
		t.Errorf("writing and reading /tmp/%s: want \"x\\n\", got:\n%s", name, r)
	}
	for _, p := range []string{filepath.Join(rootfs, "tmp", name), filepath.Join("/tmp", name)} {
		if _, err := os.Lstat(p); err == nil {
			os.Remove(p)
			t.Errorf("the container's /tmp/%s appeared on the host as %s", name, p)
		}
	}
}

func TestOverlayKeepsRootfsClean(t *testing.T) {
	runscOnly(t) // runc writes through to the rootfs
	e := newEnv(t, "--overlay=true")
	// A private rootfs, so that a runtime that does write through cannot
	// spoil the shared cached one.
	private := filepath.Join(t.TempDir(), "rootfs")
	if err := testutil.BuildBusyboxRootfs(private); err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("bw-e2e-%d", rand.Uint64())
	e.track("c")
	bundle := e.bundleWith(testutil.SpecOptions{
		Args:   []string{"sh", "-c", "touch /" + name + " && ls /" + name + " && echo changed > /etc/group && cat /etc/group"},
		Rootfs: private,
	})
	r := e.runsc("run", "--bundle", bundle, "c")
	if r.Stdout != "/"+name+"\nchanged\n" || r.ExitCode != 0 {
		t.Errorf("writing the root filesystem: want \"/%s\\nchanged\\n\", got:\n%s", name, r)
	}
	if _, err := os.Lstat(filepath.Join(private, name)); err == nil {
		t.Errorf("touch /%s inside created it in the bundle's rootfs %s", name, private)
	}
	if group, err := os.ReadFile(filepath.Join(private, "etc/group")); err != nil || string(group) == "changed\n" {
		t.Errorf("a write to /etc/group inside reached the rootfs (%q, %v)", group, err)
	}
}
