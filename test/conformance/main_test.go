package conformance

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"bulwark.dev/test/testutil"
)

var (
	runscFlag   = flag.String("runsc", "", "test this runsc binary instead of building bulwark.dev/runsc")
	runcFlag    = flag.Bool("against-runc", false, "check the programs themselves: run them under runc (from $PATH) instead of runsc")
	progTimeout = flag.Duration("prog-timeout", 30*time.Second, "limit for running one program (the whole `run` command)")
	srcFlag     = flag.String("src", "", "run the programs under this directory (<area>/<name>.c, with check.h above them) instead of test/conformance/src")
	maxTimeouts = flag.Int("max-timeouts", 3, "after this many programs time out, fail the remaining ones without running them")
	runscFlags  = flag.String("runsc-flags", "", "global flags for runsc, such as --platform=systrap (split at spaces)")
)

// Set up once by TestMain.
var (
	runtimeBin  string // the runtime under test
	runtimeName string // "runsc" or "runc"
	runtimeErr  error  // why there is no runtime binary (runsc did not build)
	rootfs      string // a private copy of the busybox rootfs the programs are compiled into
	srcDir      string // test/conformance/src
	tally       Tally  // per-area counts, printed at the end
)

func TestMain(m *testing.M) {
	flag.Parse()
	cleanup, err := setup()
	if err != nil {
		fmt.Fprintf(os.Stderr, "conformance setup failed: %v\n", err)
		os.Exit(1)
	}
	code := m.Run()
	if !tally.Empty() {
		fmt.Print("\n" + tally.Summary("conformance results under "+runtimeName+" ("+runtimeBin+"):"))
	}
	cleanup()
	os.Exit(code)
}

// setup checks for root and gcc, copies the cached busybox rootfs into a
// temporary directory and finds or builds the runtime. A runsc that does not
// build is not a setup failure: every program is then reported as failed.
func setup() (func(), error) {
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("the conformance tests create containers and must run as root (euid is %d)", os.Geteuid())
	}
	if _, err := exec.LookPath("gcc"); err != nil {
		return nil, fmt.Errorf("finding gcc (run: apt-get install build-essential): %w", err)
	}
	repo, err := testutil.RepoRoot()
	if err != nil {
		return nil, err
	}
	srcDir = filepath.Join(repo, "test", "conformance", "src")
	if *srcFlag != "" {
		srcDir = *srcFlag
	}
	cached, err := testutil.CachedBusyboxRootfs(repo)
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "bw-conformance-")
	if err != nil {
		return nil, fmt.Errorf("creating temporary directory: %w", err)
	}
	cleanup := func() { os.RemoveAll(tmp) }
	rootfs = filepath.Join(tmp, "rootfs")
	if err := CopyTree(cached, rootfs); err != nil {
		cleanup()
		return nil, err
	}
	switch {
	case *runcFlag:
		runtimeName = "runc"
		if runtimeBin, err = exec.LookPath("runc"); err != nil {
			cleanup()
			return nil, fmt.Errorf("-against-runc: %w (run: apt-get install runc)", err)
		}
	case *runscFlag != "":
		runtimeName, runtimeBin = "runsc", *runscFlag
		if _, err := os.Stat(runtimeBin); err != nil {
			cleanup()
			return nil, fmt.Errorf("-runsc: %w", err)
		}
	default:
		runtimeName = "runsc"
		runtimeBin, runtimeErr = testutil.BuildRunsc(repo, tmp)
	}
	if runtimeName == "runsc" && runtimeErr == nil {
		if runtimeBin, err = testutil.WithGlobalFlags(runtimeBin, tmp, *runscFlags); err != nil {
			cleanup()
			return nil, err
		}
		if *runscFlags != "" {
			runtimeName += " " + *runscFlags
		}
	}
	return cleanup, nil
}
