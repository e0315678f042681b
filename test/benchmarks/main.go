// Command benchmarks compares Bulwark's runsc with runc on C
// microbenchmarks (system call round trip, file open/read/close, stat, pipe
// ping-pong, fork+exec+wait, mmap+touch, file write and read throughput) and
// on the end-to-end time of `run` of /bin/true, of `python3 -c pass` and of
// a bash loop running /bin/true 500 times. Run it as root from the
// repository root:
//
//	go run ./test/benchmarks
//
// It builds the benchmarks with gcc -O2 -static into a busybox root
// filesystem (<repo>/.cache/rootfs/bench), runs each one under both runtimes
// and prints a table. The python3 and bash rows run in the cached Debian
// root filesystem (testutil.CachedDebianRootfs, mounted read-only), which
// takes minutes to build the first time; -debian=false skips them. When
// runsc cannot be built or fails, its column says so and runc's numbers are
// still printed.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"bulwark.dev/test/testutil"
)

var (
	runscPath = flag.String("runsc", "", "runsc binary to measure (default: build bulwark.dev/runsc)")
	runcPath  = flag.String("runc", "runc", "runc binary to compare with")
	startups  = flag.Int("n", 10, "number of `run` timed for each startup benchmark (/bin/true, python3, bash)")
	debian    = flag.Bool("debian", true, "run the python3 and bash startup benchmarks in the cached Debian rootfs (built on first use, minutes)")
	minTime   = flag.Float64("min-time", 1, "seconds each microbenchmark measures for, at least")
	timeout   = flag.Duration("timeout", 5*time.Minute, "limit for one benchmark under one runtime")
	runscArgs = flag.String("runsc-flags", "", "global flags for runsc, such as --platform=systrap (split at spaces); run twice to compare settings")
)

// debianCommands are timed like /bin/true, in the Debian rootfs (issue 3):
// interpreter startup with its dynamic loading, and many fork+exec from a
// shell.
var debianCommands = [][]string{
	{"/usr/bin/python3", "-c", "pass"},
	{"/bin/bash", "-c", "for i in $(seq 500); do /bin/true; done"},
}

func main() {
	flag.Parse()
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "benchmarks: %v\n", err)
		os.Exit(1)
	}
}

func run() error {
	if *startups < 1 {
		return fmt.Errorf("-n must be at least 1, not %d", *startups)
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("must run as root (the runtimes create containers)")
	}
	repo, err := testutil.RepoRoot()
	if err != nil {
		return err
	}
	runc, err := exec.LookPath(*runcPath)
	if err != nil {
		return fmt.Errorf("finding runc (run: apt-get install runc): %w", err)
	}
	rootfs := filepath.Join(repo, ".cache", "rootfs", "bench")
	if err := os.MkdirAll(filepath.Dir(rootfs), 0o755); err != nil {
		return fmt.Errorf("creating the rootfs cache: %w", err)
	}
	unlock, err := lockRun(rootfs + ".lock")
	if err != nil {
		return err
	}
	defer unlock()
	names, err := buildRootfs(filepath.Join(repo, "test", "benchmarks", "src"), rootfs)
	if err != nil {
		return err
	}
	startupRows := []container{{rootfs: rootfs, args: []string{"/bin/true"}}}
	if *debian {
		deb, err := testutil.CachedDebianRootfs(context.Background(), repo, logf)
		if err != nil {
			return fmt.Errorf("%w (-debian=false skips the Debian benchmarks)", err)
		}
		for _, args := range debianCommands {
			startupRows = append(startupRows, container{rootfs: deb, readonly: true, args: args})
		}
	}
	tmp, err := os.MkdirTemp("", "bw-bench-")
	if err != nil {
		return fmt.Errorf("creating a temporary directory: %w", err)
	}
	defer os.RemoveAll(tmp)

	runtimes := []*runtime{{name: "runc", bin: runc}, {name: "bulwark", bin: *runscPath}}
	if *runscPath == "" {
		fmt.Fprintln(os.Stderr, "building runsc ...")
		if runtimes[1].bin, err = testutil.BuildRunsc(repo, tmp); err != nil {
			runtimes[1].broken = err
		}
	}
	if runtimes[1].broken == nil {
		if runtimes[1].bin, err = testutil.WithGlobalFlags(runtimes[1].bin, tmp, *runscArgs); err != nil {
			return err
		}
	}

	var rows []row
	for _, name := range names {
		r := row{name: name}
		args := []string{"/bench/" + name, fmt.Sprint(*minTime)}
		for i, rt := range runtimes {
			fmt.Fprintf(os.Stderr, "%s under %s ...\n", name, rt.name)
			r.results[i] = rt.micro(tmp, rootfs, args)
		}
		rows = append(rows, r)
	}
	for _, c := range startupRows {
		r := row{name: runLabel(c.args, *startups)}
		for i, rt := range runtimes {
			fmt.Fprintf(os.Stderr, "%s under %s ...\n", r.name, rt.name)
			r.results[i] = rt.startup(tmp, c, *startups)
		}
		rows = append(rows, r)
	}
	printReport(os.Stdout, runtimes, rows)
	return nil
}

// logf prints progress to stderr.
func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
}
