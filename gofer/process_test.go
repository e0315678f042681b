package gofer

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"bulwark.dev/runsc/config"
)

// childEnv makes the test binary act as the gofer process: fd 3 holds the
// spec and fds 4.. the io fds.
const childEnv = "BULWARK_GOFER_TEST_CHILD"

// childMallocEnv caps glibc's malloc arenas in the gofer child. Test
// binaries are built with cgo (runsc never is): once more than eight
// threads have used malloc, glibc reads /sys/devices/system/cpu/online to
// size its arena limit, an open the gofer's filter rightly forbids. A
// fixed limit skips that read.
const childMallocEnv = "MALLOC_ARENA_MAX=2"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "" {
		os.Exit(m.Run())
	}
	n, _ := strconv.Atoi(os.Getenv(childEnv))
	fds := make([]int, n)
	for i := range fds {
		fds[i] = 4 + i
	}
	err := Run(Args{
		ID:        "proc-test",
		BundleDir: os.Getenv("BULWARK_GOFER_TEST_BUNDLE"),
		SpecFD:    3,
		IOFDs:     fds,
		Conf:      &config.Config{DebugLog: os.Getenv("BULWARK_GOFER_TEST_LOG"), LogFormat: "text", Debug: true},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "gofer:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// TestProcess runs the gofer as a real process in new namespaces, with
// its confinement, and checks it serves, cannot see the host and exits 0
// when the sandbox side closes.
func TestProcess(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for namespaces")
	}
	b := newBundle(t)
	mountsBefore := sharedMounts(t)

	specR, specW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	go func() { specW.Write(specJSON(t, b.spec)); specW.Close() }()
	sfds, clients := pairs(t, 3)
	files := []*os.File{specR}
	for _, fd := range sfds {
		files = append(files, os.NewFile(uintptr(fd), "io"))
	}
	logPath := filepath.Join(t.TempDir(), "gofer.log")
	var stderr bytes.Buffer
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=3", childMallocEnv, "BULWARK_GOFER_TEST_BUNDLE="+b.dir, "BULWARK_GOFER_TEST_LOG="+logPath)
	cmd.ExtraFiles = files
	cmd.Stderr = &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: syscall.CLONE_NEWNS | syscall.CLONE_NEWPID | syscall.CLONE_NEWIPC | syscall.CLONE_NEWUTS | syscall.CLONE_NEWNET,
		Pdeathsig:  syscall.SIGKILL,
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting the gofer: %v", err)
	}
	for _, f := range files {
		f.Close()
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
		}
	}()

	checkMounts(t, clients)

	// The gofer's root is an empty directory: no host path resolves.
	rootDir := fmt.Sprintf("/proc/%d/root", cmd.Process.Pid)
	if ents, err := os.ReadDir(rootDir); err != nil || len(ents) != 0 {
		t.Errorf("gofer root has %d entries (%v), want an empty directory", len(ents), err)
	}
	if _, err := os.Stat(filepath.Join(rootDir, "etc", "passwd")); err == nil {
		t.Error("the gofer can reach /etc/passwd")
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	capsDropped := strings.Contains(string(status), "\nCapEff:\t000000000000001f\n") &&
		strings.Contains(string(status), "\nNoNewPrivs:\t1\n")
	if after := sharedMounts(t); after != mountsBefore {
		t.Errorf("host mount propagation changed:\nbefore %s\nafter  %s", mountsBefore, after)
	}

	for _, c := range clients {
		c.Close()
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("gofer exited with %v; stderr: %s", err, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("gofer did not exit after its connections closed")
	}
	log, err := os.ReadFile(logPath)
	cgo := bytes.Contains(log, []byte("not possible in a cgo binary"))
	if !capsDropped && !cgo {
		t.Errorf("capabilities not dropped:\n%s", status)
	}
	if cgo {
		t.Log("cgo test binary: capabilities cannot be dropped (run with CGO_ENABLED=0 to test that)")
	}
	if err != nil || !bytes.Contains(log, []byte("all connections closed")) {
		t.Errorf("debug log: %v\n%s", err, log)
	}
}

// TestProcessNeedsMountNamespace checks the gofer refuses to change the
// host's mount propagation when started without CLONE_NEWNS.
func TestProcessNeedsMountNamespace(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	b := newBundle(t)
	sfds, clients := pairs(t, 3)
	defer func() {
		for _, c := range clients {
			c.Close()
		}
	}()
	err := run(runArgs{Args: Args{BundleDir: b.dir, IOFDs: sfds}, spec: b.spec, confine: true})
	if err == nil || !strings.Contains(err.Error(), "own mount namespace") {
		t.Errorf("run in the host mount namespace: %v", err)
	}
}

// sharedMounts summarizes the propagation of this process's mounts.
func sharedMounts(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 7 {
			continue
		}
		out = append(out, f[4]+":"+strings.Join(f[6:slicesIndex(f, "-")], ","))
	}
	return strings.Join(out, " ")
}

func slicesIndex(f []string, s string) int {
	for i, v := range f {
		if v == s {
			return i
		}
	}
	return len(f)
}
