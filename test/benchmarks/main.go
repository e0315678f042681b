// Command benchmarks compares Bulwark's runsc with runc on C
// microbenchmarks (system call round trip, file open/read/close, stat, pipe
// ping-pong, fork+exec+wait, mmap+touch, file write and read throughput) and
// on the end-to-end time of `run` of /bin/true. Run it as root from the
// repository root:
//
//	go run ./test/benchmarks
//
// It builds the benchmarks with gcc -O2 -static into a busybox root
// filesystem (<repo>/.cache/rootfs/bench), runs each one under both runtimes
// and prints a table. When runsc cannot be built or fails, its column says
// so and runc's numbers are still printed.
package main

import (
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
	startups  = flag.Int("n", 10, "number of `run` of /bin/true timed for the startup benchmark")
	minTime   = flag.Float64("min-time", 1, "seconds each microbenchmark measures for, at least")
	timeout   = flag.Duration("timeout", 5*time.Minute, "limit for one benchmark under one runtime")
)

func main() {
	flag.Parse()
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "benchmarks: %v\n", err)
		os.Exit(1)
	}
}

func run() error {
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
	names, err := buildRootfs(filepath.Join(repo, "test", "benchmarks", "src"), rootfs)
	if err != nil {
		return err
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
	start := row{name: fmt.Sprintf("run /bin/true (N=%d)", *startups)}
	for i, rt := range runtimes {
		fmt.Fprintf(os.Stderr, "startup under %s ...\n", rt.name)
		start.results[i] = rt.startup(tmp, rootfs, *startups)
	}
	rows = append(rows, start)
	printReport(os.Stdout, runtimes, rows)
	return nil
}
