package docker

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"bulwark.dev/test/testutil"
)

// docker runs the docker CLI against the private daemon.
func docker(t *testing.T, args ...string) testutil.Result {
	t.Helper()
	res := dockerd.CLI.Run(args...)
	t.Logf("$ docker %s -> exit %d", strings.Join(args, " "), res.ExitCode)
	return res
}

// podman runs podman with the private storage and the runtime under test.
func podman(t *testing.T, args ...string) testutil.Result {
	t.Helper()
	res := podmanCLI.Run(args...)
	t.Logf("$ podman %s -> exit %d", strings.Join(args, " "), res.ExitCode)
	return res
}

// podmanLimits are added to every `podman run`: podman raises the
// container's RLIMIT_NOFILE and RLIMIT_NPROC to values above this host's
// hard limits, which runc (rightly) refuses.
var podmanLimits = []string{"--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"}

// mustOK fails the test unless res exited 0.
func mustOK(t *testing.T, res testutil.Result) {
	t.Helper()
	if res.ExitCode != 0 || res.Err != nil {
		t.Fatalf("command failed:\n%s", res)
	}
}

// start begins a test: when it fails, the runtime's debug logs written
// since now are printed.
func start(t *testing.T) {
	t.Helper()
	begin := time.Now()
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(recentLogs(begin))
		}
	})
}

// recentLogs returns the tail of every debug log in logDir written since
// begin.
func recentLogs(begin time.Time) string {
	paths, _ := filepath.Glob(filepath.Join(logDir, "*"))
	var b strings.Builder
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil || fi.ModTime().Before(begin) {
			continue
		}
		fmt.Fprintf(&b, "\n==> %s <==\n%s\n", p, testutil.Tail(p, 40))
	}
	if b.Len() == 0 {
		return "no runtime debug logs were written during the test"
	}
	return "runtime debug logs written during the test:" + b.String()
}

// runDetached starts `docker run -d --name <name> args...`, removing any
// old container of that name first and the new one at the end of the test.
func runDetached(t *testing.T, name string, args ...string) {
	t.Helper()
	_ = dockerd.CLI.Run("rm", "-f", name)
	t.Cleanup(func() { _ = dockerd.CLI.Run("rm", "-f", name) })
	mustOK(t, docker(t, append([]string{"run", "-d", "--name", name}, args...)...))
}

// inspect returns `docker inspect -f format name`, trimmed.
func inspect(t *testing.T, name, format string) string {
	t.Helper()
	res := docker(t, "inspect", "-f", format, name)
	mustOK(t, res)
	return strings.TrimSpace(res.Stdout)
}

// waitFor polls cond every 100ms until it holds or timeout passes, and
// reports whether it held.
func waitFor(timeout time.Duration, cond func() bool) bool {
	for deadline := time.Now().Add(timeout); ; time.Sleep(100 * time.Millisecond) {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

// waitForLogs waits until `docker logs name` contains want and fails the
// test if it does not within timeout.
func waitForLogs(t *testing.T, name, want string, timeout time.Duration) {
	t.Helper()
	var last testutil.Result
	if !waitFor(timeout, func() bool {
		last = dockerd.CLI.Run("logs", name)
		return strings.Contains(last.Stdout, want)
	}) {
		t.Fatalf("docker logs %s did not show %q within %v:\n%s", name, want, timeout, last)
	}
}
