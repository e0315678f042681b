package e2e

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"testing"

	"bulwark.dev/test/testutil"
)

var (
	runscFlag  = flag.String("runsc", "", "test this runsc binary instead of building bulwark.dev/runsc")
	cmdTimeout = flag.Duration("cmd-timeout", testutil.DefaultTimeout, "limit for each runsc command")
	runcFlag   = flag.Bool("against-runc", false, "check the tests themselves: run the OCI-generic ones against runc (from $PATH) instead of runsc")
)

// Set up once by TestMain.
var (
	runscBin string // the runsc binary under test
	rootfs   string // the cached busybox root filesystem
)

func TestMain(m *testing.M) {
	flag.Parse()
	cleanup, err := setup()
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e setup failed: %v\n", err)
		os.Exit(1)
	}
	code := m.Run()
	cleanup()
	os.Exit(code)
}

// setup checks for root, builds runsc and the busybox rootfs.
func setup() (func(), error) {
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("the e2e tests create sandboxes and must run as root (euid is %d): run them with sudo or as root", os.Geteuid())
	}
	repo, err := testutil.RepoRoot()
	if err != nil {
		return nil, err
	}
	if rootfs, err = testutil.CachedBusyboxRootfs(repo); err != nil {
		return nil, err
	}
	if *runcFlag {
		if runscBin, err = exec.LookPath("runc"); err != nil {
			return nil, fmt.Errorf("-against-runc: %w (run: apt-get install runc)", err)
		}
		return func() {}, nil
	}
	if *runscFlag != "" {
		runscBin = *runscFlag
		if _, err := os.Stat(runscBin); err != nil {
			return nil, fmt.Errorf("-runsc: %w", err)
		}
		return func() {}, nil
	}
	bin, err := os.MkdirTemp("", "bw-e2e-bin-")
	if err != nil {
		return nil, fmt.Errorf("creating build directory: %w", err)
	}
	if runscBin, err = testutil.BuildRunsc(repo, bin); err != nil {
		os.RemoveAll(bin)
		return nil, err
	}
	return func() { os.RemoveAll(bin) }, nil
}

// runscOnly skips a test of a runsc feature runc lacks (wait, do, --strace,
// the sandbox kernel's identity, runsc's error wording) when the suite runs
// against runc to check its own expectations.
func runscOnly(t *testing.T) {
	t.Helper()
	if *runcFlag {
		t.Skip("runsc-only test; running against runc")
	}
}
