// Command nginx compares nginx under runc and under Bulwark's runsc as
// Docker runtimes, through a port published with `docker run -p`: the
// network benchmark of issue 5. Run it as root from the repository root,
// after scripts/install.sh (docker.io, runc, wrk, debootstrap):
//
//	go run ./test/benchmarks/nginx
//
// It builds runsc (or takes -runsc), starts a private dockerd (its own
// state, socket and bridge under a temporary directory, iptables on) with
// runsc registered by `runsc install` as the runtime "runsc" (no flags:
// Docker's bridge network namespace) next to Docker's built-in "runc",
// imports the cached Debian bookworm root filesystem (test/testutil,
// nginx-light installed) as an image, and for each runtime runs
//
//	docker run -d --runtime=RUNTIME -p PORT:80 IMAGE nginx -g 'daemon off;'
//
// with Debian's stock nginx configuration (worker_processes auto, access
// log on), warms it up with a short wrk run, then measures it from the
// host with
//
//	wrk -t2 -c32 -d10s --latency http://127.0.0.1:PORT/
//
// and prints requests/s, p99 latency and the ratio to runc. A runtime that
// fails gets its error in the table; the others are still measured.
// -conf FILE adds http-context directives to both (for example
// "open_file_cache max=1000; access_log off;" to take the file system out
// of the request path); -runsc, -t, -c, -d and -warmup are as they say.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"bulwark.dev/test/testutil"
)

var (
	runscPath = flag.String("runsc", "", "runsc binary to measure (default: build bulwark.dev/runsc)")
	threads   = flag.Int("t", 2, "wrk threads")
	conns     = flag.Int("c", 32, "wrk connections")
	duration  = flag.Duration("d", 10*time.Second, "wrk duration of the measured run")
	warmup    = flag.Duration("warmup", 2*time.Second, "wrk duration of the unmeasured warm-up run")
	keep      = flag.Bool("keep", false, "keep the temporary directory (daemon state and logs)")
	conf      = flag.String("conf", "", "extra nginx configuration (http context) bind-mounted as /etc/nginx/conf.d/bench.conf, e.g. open_file_cache")
)

// image is the Debian image the benchmark imports.
const image = "bulwark-debian:bench"

func main() {
	flag.Parse()
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "nginx benchmark: %v\n", err)
		os.Exit(1)
	}
}

// measurement is one runtime's result, or why there is none.
type measurement struct {
	runtime string
	res     wrkResult
	err     error
}

func run() error {
	if os.Geteuid() != 0 {
		return errors.New("must run as root (it starts dockerd)")
	}
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		return fmt.Errorf("finding wrk (run scripts/install.sh, or apt-get install wrk): %w", err)
	}
	repo, err := testutil.RepoRoot()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("/tmp", "bwn-") // short: dockerd's sockets live below it
	if err != nil {
		return fmt.Errorf("creating a temporary directory: %w", err)
	}
	defer cleanup(dir)

	runsc := *runscPath
	if runsc == "" {
		logf("building runsc ...")
		if runsc, err = testutil.BuildRunsc(repo, dir); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	debian, err := testutil.CachedDebianRootfs(ctx, repo, logf)
	if err != nil {
		return err
	}
	config := filepath.Join(dir, "daemon.json")
	if err := testutil.InstallDockerRuntime(runsc, config, "runsc", runsc); err != nil {
		return err
	}
	d, err := testutil.StartDockerd(testutil.DockerdOptions{Dir: dir, Config: config, StorageDriver: "overlay2", Bridge: true, Logf: logf})
	if err != nil {
		return err
	}
	defer func() {
		if ids := strings.Fields(d.CLI.Run("ps", "-aq").Stdout); len(ids) > 0 {
			_ = d.CLI.Run(append([]string{"rm", "-f"}, ids...)...)
		}
		if err := d.Stop(); err != nil {
			logf("stopping dockerd: %v", err)
		}
	}()
	logf("importing %s ...", image)
	if err := testutil.ImportRootfs(d.CLI, debian, image); err != nil {
		return err
	}

	var results []measurement
	for _, rt := range []string{"runc", "runsc"} {
		res, err := measure(d.CLI, wrk, rt)
		if err != nil {
			logf("%s: %v", rt, err)
		}
		results = append(results, measurement{runtime: rt, res: res, err: err})
	}
	desc := "stock config"
	if *conf != "" {
		desc = "stock config + " + *conf
	}
	fmt.Printf("nginx (Debian nginx-light, %s) through docker -p; wrk -t%d -c%d -d%s --latency from the host\n\n",
		desc, *threads, *conns, *duration)
	printTable(os.Stdout, results)
	return nil
}

// measure runs nginx under runtime rt with a published port and drives it
// with wrk.
func measure(cli testutil.Runtime, wrk, rt string) (wrkResult, error) {
	port, err := freePort()
	if err != nil {
		return wrkResult{}, err
	}
	name := "bench-nginx-" + rt
	_ = cli.Run("rm", "-f", name)
	defer cli.Run("rm", "-f", name)
	args := []string{"run", "-d", "--name", name, "--runtime=" + rt, "-p", strconv.Itoa(port) + ":80"}
	if *conf != "" {
		abs, err := filepath.Abs(*conf)
		if err != nil {
			return wrkResult{}, fmt.Errorf("-conf: %w", err)
		}
		args = append(args, "-v", abs+":/etc/nginx/conf.d/bench.conf:ro")
	}
	r := cli.Run(append(args, image, "nginx", "-g", "daemon off;")...)
	if r.ExitCode != 0 || r.Err != nil {
		return wrkResult{}, fmt.Errorf("starting nginx: %s", r)
	}
	url := "http://127.0.0.1:" + strconv.Itoa(port) + "/"
	if err := waitServing(url, 30*time.Second); err != nil {
		logs := cli.Run("logs", name)
		return wrkResult{}, fmt.Errorf("%w; docker logs: %s%s", err, logs.Stdout, logs.Stderr)
	}
	wrkArgs := func(d time.Duration) []string {
		return []string{"-t" + strconv.Itoa(*threads), "-c" + strconv.Itoa(*conns), "-d" + wrkSeconds(d), "--latency", url}
	}
	wrkRT := testutil.Runtime{Bin: wrk, Timeout: *duration + *warmup + time.Minute}
	if *warmup > 0 {
		logf("%s: warming up (%v) ...", rt, *warmup)
		if w := wrkRT.Run(wrkArgs(*warmup)...); w.ExitCode != 0 || w.Err != nil {
			return wrkResult{}, fmt.Errorf("warm-up: %s", w)
		}
	}
	logf("%s: $ wrk %s", rt, strings.Join(wrkArgs(*duration), " "))
	w := wrkRT.Run(wrkArgs(*duration)...)
	if w.ExitCode != 0 || w.Err != nil {
		return wrkResult{}, fmt.Errorf("wrk: %s", w)
	}
	fmt.Fprint(os.Stderr, w.Stdout)
	return parseWrk(w.Stdout)
}

// wrkSeconds formats d for wrk's -d flag (whole seconds, at least 1).
func wrkSeconds(d time.Duration) string {
	return strconv.Itoa(max(1, int(d.Round(time.Second)/time.Second))) + "s"
}

// waitServing polls url until it answers 200 or timeout passes.
func waitServing(url string, timeout time.Duration) error {
	client := &http.Client{Timeout: 2 * time.Second}
	var last error
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		resp, err := client.Get(url)
		if err != nil {
			last = err
			continue
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return nil
		}
		last = fmt.Errorf("status %s", resp.Status)
	}
	return fmt.Errorf("nginx did not answer %s within %v: %v", url, timeout, last)
}

// freePort returns a TCP port nothing on the host listens on now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", ":0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// printTable writes one row per runtime: requests/s, p99 and the ratio of
// requests/s to the first runtime's.
func printTable(w io.Writer, ms []measurement) {
	fmt.Fprintf(w, "%-8s %12s %12s %10s\n", "runtime", "requests/s", "p99", "vs runc")
	for _, m := range ms {
		if m.err != nil {
			fmt.Fprintf(w, "%-8s failed: %s\n", m.runtime, firstLine(m.err.Error()))
			continue
		}
		ratio := "-"
		if base := ms[0]; base.err == nil && base.res.rps > 0 {
			ratio = fmt.Sprintf("%.1f%%", 100*m.res.rps/base.res.rps)
		}
		fmt.Fprintf(w, "%-8s %12.0f %12s %10s\n", m.runtime, m.res.rps, m.res.p99.Round(10*time.Microsecond), ratio)
		if m.res.errors != "" {
			fmt.Fprintf(w, "         (wrk: %s)\n", m.res.errors)
		}
	}
}

func firstLine(s string) string {
	first, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return first
}

// cleanup removes the temporary directory after killing and unmounting
// whatever the daemon left there, unless -keep.
func cleanup(dir string) {
	if killed := testutil.KillLeftovers(dir); len(killed) > 0 {
		logf("killed leftover processes %v", killed)
	}
	if err := testutil.UnmountAll(dir); err != nil {
		logf("%v", err)
	}
	if *keep {
		logf("kept %s", dir)
		return
	}
	if err := os.RemoveAll(dir); err != nil {
		logf("removing %s: %v", dir, err)
	}
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "nginx benchmark: "+format+"\n", args...)
}
