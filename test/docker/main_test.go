package docker

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"bulwark.dev/test/testutil"
)

var (
	runcFlag    = flag.Bool("against-runc", false, "check the tests themselves: use runc (from $PATH) as the runtime instead of runsc")
	runscFlag   = flag.String("runsc", "", "test this runsc binary instead of building bulwark.dev/runsc")
	storageFlag = flag.String("storage-driver", "overlay2", "dockerd's storage driver")
	keepFlag    = flag.Bool("keep", false, "keep the temporary directory (daemon state and logs)")
)

// The runtime names registered in daemon.json.
const (
	runtimeNone = "runsc-none" // runsc --network=none
	runtimeNet  = "runsc"      // runsc with its default network mode
)

// The images imported by TestMain.
const (
	busyboxImage = "bulwark-busybox:test"
	debianImage  = "bulwark-debian:test"
)

// Set up once by TestMain.
var (
	dockerd    *testutil.Dockerd
	runtimeBin string           // the OCI runtime under test (runsc, or runc)
	logDir     string           // runsc's --debug-log directory
	podmanCLI  testutil.Runtime // podman with private storage and the runtime under test
)

// debianTimeout bounds building the Debian rootfs on a first run.
const debianTimeout = 20 * time.Minute

// skipEnv is the environment variable that, set to 1, lets a machine
// without Docker or root skip the suite instead of failing it.
const skipEnv = "BULWARK_SKIP_DOCKER"

// suiteTools are the commands the suite needs on $PATH.
var suiteTools = []string{"docker", "dockerd", "podman"}

// unmet says why this machine cannot run the suite, or "" if it can.
func unmet() string {
	var missing []string
	for _, tool := range suiteTools {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	switch {
	case len(missing) > 0:
		return fmt.Sprintf("%s not found on $PATH: run scripts/install.sh as root to install Docker and Podman",
			strings.Join(missing, ", "))
	case os.Geteuid() != 0:
		return fmt.Sprintf("the suite starts its own dockerd and must run as root (euid is %d)", os.Geteuid())
	}
	return ""
}

func TestMain(m *testing.M) {
	flag.Parse()
	if why := unmet(); why != "" {
		if os.Getenv(skipEnv) == "1" {
			fmt.Printf("docker: suite skipped because %s=1: %s\n", skipEnv, why)
			os.Exit(0)
		}
		fmt.Fprintf(os.Stderr, "docker: %s (or set %s=1 to skip this suite)\n", why, skipEnv)
		os.Exit(1)
	}
	cleanup, err := setup()
	if err != nil {
		fmt.Fprintf(os.Stderr, "docker setup failed: %v\n", err)
		if cleanup != nil {
			cleanup()
		}
		os.Exit(1)
	}
	code := m.Run()
	cleanup()
	os.Exit(code)
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "docker: "+format+"\n", args...)
}

// setup builds the runtime, writes daemon.json with `runsc install`, starts
// dockerd, imports the images and prepares podman. The returned cleanup
// (non-nil once the temporary directory exists) stops everything.
func setup() (func(), error) {
	repo, err := testutil.RepoRoot()
	if err != nil {
		return nil, err
	}
	sweepStale()
	// Short: dockerd's and containerd's unix sockets live below it.
	dir, err := os.MkdirTemp(tmpDir, tmpPattern)
	if err != nil {
		return nil, fmt.Errorf("creating temporary directory: %w", err)
	}
	var stops []func()
	cleanup := func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
		if killed := testutil.KillLeftovers(dir); len(killed) > 0 {
			logf("killed leftover processes %v", killed)
		}
		if err := testutil.UnmountAll(dir); err != nil {
			logf("%v", err)
		}
		if *keepFlag {
			if err := os.WriteFile(filepath.Join(dir, keptName), nil, 0o644); err != nil {
				logf("marking %s kept: %v", dir, err)
			}
			logf("kept %s", dir)
			return
		}
		if err := os.RemoveAll(dir); err != nil {
			logf("removing %s: %v", dir, err)
		}
	}
	if err := holdRunLock(dir); err != nil {
		return cleanup, err
	}
	logDir = filepath.Join(dir, "logs") + "/"
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return cleanup, err
	}

	// runsc builds while the Debian rootfs (if not cached) is checked.
	installer, err := findRuntime(repo, dir)
	if err != nil {
		return cleanup, err
	}
	busybox, err := testutil.CachedBusyboxRootfs(repo)
	if err != nil {
		return cleanup, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), debianTimeout)
	defer cancel()
	debian, err := testutil.CachedDebianRootfs(ctx, repo, logf)
	if err != nil {
		return cleanup, err
	}

	config := filepath.Join(dir, "daemon.json")
	noneArgs, netArgs := []string{"--network=none", "--debug", "--debug-log=" + logDir}, []string{"--debug", "--debug-log=" + logDir}
	if *runcFlag {
		noneArgs, netArgs = nil, nil
	}
	if err := testutil.InstallDockerRuntime(installer, config, runtimeNone, runtimeBin, noneArgs...); err != nil {
		return cleanup, err
	}
	if err := testutil.InstallDockerRuntime(installer, config, runtimeNet, runtimeBin, netArgs...); err != nil {
		return cleanup, err
	}

	start := time.Now()
	dockerd, err = testutil.StartDockerd(testutil.DockerdOptions{
		Dir: dir, Config: config, StorageDriver: *storageFlag, Bridge: true, Logf: logf,
	})
	if err != nil {
		return cleanup, err
	}
	stops = append(stops, func() {
		if ids := strings.Fields(dockerd.CLI.Run("ps", "-aq").Stdout); len(ids) > 0 {
			_ = dockerd.CLI.Run(append([]string{"rm", "-f", "-v"}, ids...)...) // best effort
		}
		if err := dockerd.Stop(); err != nil {
			logf("stopping dockerd: %v", err)
		}
	})
	logf("dockerd ready in %v (log %s)", time.Since(start).Round(time.Millisecond), dockerd.Log)

	start = time.Now()
	if err := testutil.ImportRootfs(dockerd.CLI, busybox, busyboxImage); err != nil {
		return cleanup, err
	}
	if err := testutil.ImportRootfs(dockerd.CLI, debian, debianImage); err != nil {
		return cleanup, err
	}
	logf("imported %s and %s in %v", busyboxImage, debianImage, time.Since(start).Round(time.Millisecond))

	podman, err := exec.LookPath("podman")
	if err != nil {
		return cleanup, fmt.Errorf("podman not found (run scripts/install.sh, or apt-get install podman): %w", err)
	}
	pdir := filepath.Join(dir, "podman")
	podmanCLI = testutil.Runtime{Bin: podman, Global: []string{
		"--root", filepath.Join(pdir, "root"), "--runroot", filepath.Join(pdir, "run"),
		"--tmpdir", filepath.Join(pdir, "tmp"), "--storage-driver", "vfs",
		"--cgroup-manager", "cgroupfs", "--events-backend", "file",
		"--runtime", runtimeBin,
	}}
	if !*runcFlag {
		podmanCLI.Global = append(podmanCLI.Global,
			"--runtime-flag", "network=none", "--runtime-flag", "debug", "--runtime-flag", "debug-log="+logDir)
	}
	stops = append(stops, func() {
		_ = podmanCLI.Run("rm", "-f", "-a", "-t", "0")
		_ = testutil.UnmountAll(pdir)
	})
	if err := testutil.ImportRootfs(podmanCLI, busybox, busyboxImage); err != nil {
		return cleanup, err
	}
	return cleanup, nil
}

// findRuntime sets runtimeBin to the runtime under test (runc from $PATH,
// -runsc, or runsc built into dir/bin) and returns the runsc whose `install`
// command writes daemon.json (built when testing runc too: it is part of
// what is tested).
func findRuntime(repo, dir string) (string, error) {
	var runsc string
	if *runscFlag != "" {
		if _, err := os.Stat(*runscFlag); err != nil {
			return "", fmt.Errorf("-runsc: %w", err)
		}
		runsc = *runscFlag
	} else {
		bin := filepath.Join(dir, "bin")
		if err := os.MkdirAll(bin, 0o755); err != nil {
			return "", err
		}
		start := time.Now()
		var err error
		if runsc, err = testutil.BuildRunsc(repo, bin); err != nil {
			return "", err
		}
		logf("built %s in %v", runsc, time.Since(start).Round(time.Millisecond))
	}
	runtimeBin = runsc
	if *runcFlag {
		p, err := exec.LookPath("runc")
		if err != nil {
			return "", fmt.Errorf("-against-runc: %w (apt-get install runc)", err)
		}
		runtimeBin = p
	}
	return runsc, nil
}
