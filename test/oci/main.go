// Command oci runs the OCI runtime-tools validation suite
// (github.com/opencontainers/runtime-tools v0.9.0: the validation/ programs
// and runtimetest, built with runtime-spec v1.0.2) against runc and against
// Bulwark's runsc, and prints ok / not ok / skipped totals for each. Run it as
// root from the repository root:
//
//	go run ./test/oci          # totals per runtime
//	go run ./test/oci -v       # plus every "not ok" line, per program
//
// Nothing of runtime-tools is vendored: on first use the program creates a
// temporary Go module outside the repository, fetches runtime-tools through
// the Go module proxy and builds the suite into <repo>/.cache/oci/bin, where
// later runs find it. The programs unpack rootfs-amd64.tar.gz into each
// bundle; it is packed from the cached busybox root filesystem.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"bulwark.dev/test/testutil"
)

var (
	runscPath = flag.String("runsc", "", "runsc binary to test (default: build bulwark.dev/runsc)")
	runcPath  = flag.String("runc", "runc", "runc binary to compare with; \"\" or \"none\" skips runc")
	timeout   = flag.Duration("timeout", 2*time.Minute, "limit for one validation program under one runtime")
	only      = flag.String("run", "", "run only the programs whose name matches this regular expression")
	runscArgs = flag.String("runsc-flags", "", "extra global flags for runsc, space-separated (e.g. --overlay=false)")
	verbose   = flag.Bool("v", false, "list the \"not ok\" lines and failed programs under each runtime")
)

func main() {
	flag.Parse()
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "oci: %v\n", err)
		os.Exit(1)
	}
}

func run() error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("must run as root (the runtimes create containers)")
	}
	filter, err := regexp.Compile(*only)
	if err != nil {
		return fmt.Errorf("parsing -run: %w", err)
	}
	repo, err := testutil.RepoRoot()
	if err != nil {
		return err
	}
	cache := filepath.Join(repo, ".cache", "oci")
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return fmt.Errorf("creating %q: %w", cache, err)
	}
	s, err := buildSuite(cache)
	if err != nil {
		return err
	}
	rootfs, err := testutil.CachedBusyboxRootfs(repo)
	if err != nil {
		return err
	}
	if err := writeRootfsTarball(rootfs, s.dir); err != nil {
		return err
	}
	runtimes, cleanup, err := findRuntimes(repo)
	if err != nil {
		return err
	}
	defer cleanup()

	var programs []string
	for _, p := range s.programs {
		if filter.MatchString(programName(p)) {
			programs = append(programs, p)
		}
	}
	var reports []runtimeReport
	for _, rt := range runtimes {
		rep := runtimeReport{rt: rt}
		for _, p := range programs {
			if rt.broken != nil {
				break
			}
			fmt.Fprintf(os.Stderr, "%s under %s ...\n", programName(p), rt.name)
			res, err := runProgram(s, rt, p, *timeout)
			if err != nil {
				return err
			}
			rep.results = append(rep.results, res)
		}
		reports = append(reports, rep)
	}
	printReport(os.Stdout, reports, *verbose)
	return nil
}

// findRuntimes returns runc (unless disabled) and runsc, building runsc into
// a temporary directory that the returned cleanup removes.
func findRuntimes(repo string) ([]*ociRuntime, func(), error) {
	var rts []*ociRuntime
	if *runcPath != "" && *runcPath != "none" {
		runc, err := exec.LookPath(*runcPath)
		if err != nil {
			return nil, nil, fmt.Errorf("finding runc (run: apt-get install runc, or pass -runc none): %w", err)
		}
		rts = append(rts, &ociRuntime{name: "runc", bin: runc})
	}
	bw := &ociRuntime{name: "bulwark", bin: *runscPath, flags: strings.Fields(*runscArgs)}
	rts = append(rts, bw)
	if *runscPath != "" {
		abs, err := filepath.Abs(*runscPath)
		if err != nil {
			return nil, nil, fmt.Errorf("resolving -runsc: %w", err)
		}
		bw.bin = abs
		return rts, func() {}, nil
	}
	tmp, err := os.MkdirTemp("", "bw-oci-runsc-")
	if err != nil {
		return nil, nil, fmt.Errorf("creating a temporary directory: %w", err)
	}
	fmt.Fprintln(os.Stderr, "building runsc ...")
	if bw.bin, err = testutil.BuildRunsc(repo, tmp); err != nil {
		bw.broken = err
	}
	return rts, func() { os.RemoveAll(tmp) }, nil
}

// programName is a program's name without directory and ".t".
func programName(path string) string {
	name := filepath.Base(path)
	return name[:len(name)-len(filepath.Ext(name))]
}
