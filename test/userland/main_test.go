package userland

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"bulwark.dev/test/testutil"
)

var (
	runscFlag  = flag.String("runsc", "", "test this runsc binary instead of building bulwark.dev/runsc")
	cmdTimeout = flag.Duration("cmd-timeout", testutil.DefaultTimeout, "limit for each runtime command")
	runcFlag   = flag.Bool("against-runc", false, "check the tests themselves: run them against runc (from $PATH) instead of runsc")
	runscFlags = flag.String("runsc-flags", "", "global flags for runsc, such as --platform=systrap (split at spaces)")
)

// Set up once by TestMain.
var (
	runtimeBin string // the runtime binary under test (runsc or runc)
	rootfs     string // the cached Debian root filesystem
)

// debootstrapTimeout bounds building the root filesystem on a first run.
const debootstrapTimeout = 30 * time.Minute

func TestMain(m *testing.M) {
	flag.Parse()
	cleanup, err := setup()
	if err != nil {
		fmt.Fprintf(os.Stderr, "userland setup failed: %v\n", err)
		os.Exit(1)
	}
	code := m.Run()
	cleanup()
	os.Exit(code)
}

// setup checks for root, builds (or finds) the Debian rootfs and the runtime.
func setup() (func(), error) {
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("the userland tests create containers and must run as root (euid is %d)", os.Geteuid())
	}
	repo, err := testutil.RepoRoot()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), debootstrapTimeout)
	defer cancel()
	logf := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "userland: "+format+"\n", args...)
	}
	if rootfs, err = testutil.CachedDebianRootfs(ctx, repo, logf); err != nil {
		return nil, err
	}
	switch {
	case *runcFlag:
		if runtimeBin, err = exec.LookPath("runc"); err != nil {
			return nil, fmt.Errorf("-against-runc: %w (run: apt-get install runc)", err)
		}
		return func() {}, nil
	}
	bin, err := os.MkdirTemp("", "bw-userland-bin-")
	if err != nil {
		return nil, fmt.Errorf("creating build directory: %w", err)
	}
	cleanup := func() { os.RemoveAll(bin) }
	if runtimeBin = *runscFlag; runtimeBin != "" {
		if _, err = os.Stat(runtimeBin); err != nil {
			err = fmt.Errorf("-runsc: %w", err)
		}
	} else {
		runtimeBin, err = testutil.BuildRunsc(repo, bin)
	}
	if err == nil {
		runtimeBin, err = testutil.WithGlobalFlags(runtimeBin, bin, *runscFlags)
	}
	if err != nil {
		cleanup()
		return nil, err
	}
	return cleanup, nil
}
