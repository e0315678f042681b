package docker

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestDockerRuntimesRegistered: `runsc install` wrote both runtimes into
// daemon.json and dockerd loaded them with the runtime's path and flags.
func TestDockerRuntimesRegistered(t *testing.T) {
	start(t)
	res := docker(t, "info", "--format", "{{json .Runtimes}}")
	mustOK(t, res)
	var rts map[string]struct {
		Path string   `json:"path"`
		Args []string `json:"runtimeArgs"`
	}
	if err := json.Unmarshal([]byte(res.Stdout), &rts); err != nil {
		t.Fatalf("parsing docker info's runtimes: %v\n%s", err, res)
	}
	for _, name := range []string{runtimeNone, runtimeNet} {
		if rts[name].Path != runtimeBin {
			t.Errorf("runtime %q has path %q, want %q (all: %s)", name, rts[name].Path, runtimeBin, res.Stdout)
		}
	}
	if !*runcFlag && !slices.Contains(rts[runtimeNone].Args, "--network=none") {
		t.Errorf("runtime %q has args %q, want --network=none among them", runtimeNone, rts[runtimeNone].Args)
	}
}

// TestDockerRunEcho: `docker run --rm` prints the container's output.
func TestDockerRunEcho(t *testing.T) {
	start(t)
	res := docker(t, "run", "--rm", "--runtime="+runtimeNone, busyboxImage, "echo", "hello")
	mustOK(t, res)
	if res.Stdout != "hello\n" {
		t.Errorf("stdout = %q, want %q\n%s", res.Stdout, "hello\n", res)
	}
}

// TestDockerRunExitCodes: the container's exit status is docker run's.
func TestDockerRunExitCodes(t *testing.T) {
	for _, code := range []string{"0", "3", "42"} {
		t.Run("exit"+code, func(t *testing.T) {
			start(t)
			res := docker(t, "run", "--rm", "--runtime="+runtimeNone, busyboxImage, "sh", "-c", "exit "+code)
			if got := res.ExitCode; got != atoi(code) {
				t.Errorf("exit code = %d, want %s\n%s", got, code, res)
			}
		})
	}
}

// TestDockerRunPipeline: a shell pipeline with the image's own files.
func TestDockerRunPipeline(t *testing.T) {
	start(t)
	res := docker(t, "run", "--rm", "--runtime="+runtimeNone, busyboxImage,
		"sh", "-c", "echo a b c | wc -w; cat /etc/hostname >/dev/null && echo files-ok")
	mustOK(t, res)
	if got := strings.Fields(res.Stdout); len(got) != 2 || got[0] != "3" || got[1] != "files-ok" {
		t.Errorf("stdout = %q, want \"3\\nfiles-ok\\n\"\n%s", res.Stdout, res)
	}
}

// TestDockerRunDefaultNetwork runs under the "runsc" runtime, which gets
// Docker's spec unchanged: a network namespace on the bridge. The container
// must see its eth0 with the address Docker gave it, and another container
// must reach a TCP server in it over the bridge (needs networking, issue 5).
func TestDockerRunDefaultNetwork(t *testing.T) {
	start(t)
	name := "bw-net"
	runDetached(t, name, "--runtime="+runtimeNet, busyboxImage,
		"sh", "-c", "echo listening; echo from-server | nc -l -p 8000; sleep 100")
	waitForLogs(t, name, "listening", 20*time.Second)
	ip := inspect(t, name, "{{.NetworkSettings.IPAddress}}")
	if ip == "" {
		t.Fatalf("docker gave the container no IP address")
	}
	res := docker(t, "exec", name, "ip", "-4", "addr", "show", "eth0")
	if res.ExitCode != 0 || !strings.Contains(res.Stdout, ip+"/") {
		t.Errorf("`ip addr show eth0` in the container does not list %s:\n%s", ip, res)
	}
	// "listening" is printed just before nc listens: the client retries
	// until the server is up (a refused connection does not use it up).
	if !waitFor(30*time.Second, func() bool {
		res = docker(t, "run", "--rm", "--runtime="+runtimeNet, busyboxImage, "nc", "-w", "5", ip, "8000")
		return res.ExitCode == 0 && res.Stdout == "from-server\n"
	}) {
		t.Errorf("another container did not get %q from %s:8000 over the bridge:\n%s", "from-server\n", ip, res)
	}
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}
