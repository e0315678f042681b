package docker

import (
	"strings"
	"testing"
	"time"
)

// podmanRunDetached starts `podman run -d --name name args...` with the
// network off, removing it at the end of the test.
func podmanRunDetached(t *testing.T, name string, args ...string) {
	t.Helper()
	_ = podmanCLI.Run("rm", "-f", "-t", "0", name)
	t.Cleanup(func() { _ = podmanCLI.Run("rm", "-f", "-t", "0", name) })
	run := append(append([]string{"run", "-d", "--name", name, "--network", "none"}, podmanLimits...), args...)
	mustOK(t, podman(t, run...))
}

// podmanWaitForLogs waits until `podman logs name` contains want.
func podmanWaitForLogs(t *testing.T, name, want string) {
	t.Helper()
	if !waitFor(20*time.Second, func() bool {
		return strings.Contains(podmanCLI.Run("logs", name).Stdout, want)
	}) {
		t.Fatalf("podman logs %s did not show %q within 20s:\n%s", name, want, podmanCLI.Run("logs", name))
	}
}

// TestPodmanRun: `podman --runtime <runsc> run --rm` prints the output and
// passes the exit code on.
func TestPodmanRun(t *testing.T) {
	start(t)
	run := append(append([]string{"run", "--rm", "--network", "none"}, podmanLimits...), busyboxImage)
	res := podman(t, append(run, "echo", "hi")...)
	mustOK(t, res)
	if res.Stdout != "hi\n" {
		t.Errorf("stdout = %q, want %q\n%s", res.Stdout, "hi\n", res)
	}
	res = podman(t, append(run, "sh", "-c", "exit 3")...)
	if res.ExitCode != 3 {
		t.Errorf("exit code = %d, want 3\n%s", res.ExitCode, res)
	}
}

// TestPodmanExec: `podman exec` output and exit code.
func TestPodmanExec(t *testing.T) {
	start(t)
	name := "bw-podman-exec"
	podmanRunDetached(t, name, busyboxImage, "sh", "-c", "echo started; sleep 100")
	podmanWaitForLogs(t, name, "started")
	res := podman(t, "exec", name, "sh", "-c", "echo out-$((6*7)); exit 4")
	if res.ExitCode != 4 || res.Stdout != "out-42\n" {
		t.Errorf("podman exec: want exit 4 and stdout %q\n%s", "out-42\n", res)
	}
}

// TestPodmanStop: `podman stop` sends SIGTERM (handled: exit 0), then
// SIGKILL after the timeout to an init that ignores it (exit 137).
func TestPodmanStop(t *testing.T) {
	t.Run("graceful", func(t *testing.T) {
		start(t)
		name := "bw-podman-stop"
		podmanRunDetached(t, name, busyboxImage, "sh", "-c", trapTerm)
		podmanWaitForLogs(t, name, "started")
		begin := time.Now()
		mustOK(t, podman(t, "stop", "-t", "10", name))
		if d := time.Since(begin); d > 8*time.Second {
			t.Errorf("podman stop took %v: SIGTERM did not end the container", d)
		}
		if got := strings.TrimSpace(podman(t, "inspect", "-f", "{{.State.ExitCode}}", name).Stdout); got != "0" {
			t.Errorf("exit code = %q, want 0", got)
		}
	})
	t.Run("kill", func(t *testing.T) {
		start(t)
		name := "bw-podman-kill"
		podmanRunDetached(t, name, busyboxImage, "sh", "-c", `trap "" TERM; echo started; sleep 100`)
		podmanWaitForLogs(t, name, "started")
		mustOK(t, podman(t, "stop", "-t", "2", name))
		if got := strings.TrimSpace(podman(t, "inspect", "-f", "{{.State.ExitCode}}", name).Stdout); got != "137" {
			t.Errorf("exit code = %q, want 137", got)
		}
	})
}
