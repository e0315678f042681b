package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"bulwark.dev/test/testutil"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// runtime is one OCI runtime under measurement.
type runtime struct {
	name   string
	bin    string
	broken error // set when the binary could not be built
	seq    int   // numbers container ids
}

// result is one measurement: a value and its unit, or why there is none.
type result struct {
	value float64
	unit  string
	err   error
}

// container is what one `run` starts: args in a root filesystem.
type container struct {
	rootfs   string
	readonly bool // mount the root read-only (for a shared, cached rootfs)
	args     []string
}

// spec returns the container's OCI spec; both runtimes get the same one.
func (c container) spec() *specs.Spec {
	s := testutil.NewSpec(testutil.SpecOptions{Args: c.args, Rootfs: c.rootfs})
	s.Root.Readonly = c.readonly
	return s
}

// micro runs one microbenchmark container and parses its "name value unit"
// line.
func (rt *runtime) micro(tmp, rootfs string, args []string) result {
	r, err := rt.runOnce(tmp, container{rootfs: rootfs, args: args})
	if err != nil {
		return result{err: err}
	}
	name, value, unit, err := parseLine(r.Stdout)
	if err != nil {
		return result{err: err}
	}
	if want := filepath.Base(args[0]); !strings.HasPrefix(name, want) {
		return result{err: fmt.Errorf("%s printed a result for %q", want, name)}
	}
	return result{value: value, unit: unit}
}

// startup runs c once untimed to warm the page cache, then times n `run`
// of c end to end (from starting the runtime binary until it exits) and
// returns the mean.
func (rt *runtime) startup(tmp string, c container, n int) result {
	if _, err := rt.runOnce(tmp, c); err != nil {
		return result{err: err}
	}
	var total time.Duration
	for i := 0; i < n; i++ {
		r, err := rt.runOnce(tmp, c)
		if err != nil {
			return result{err: err}
		}
		total += r.Duration
	}
	return result{value: total.Seconds() * 1000 / float64(n), unit: "ms/run"}
}

// runOnce runs c as a fresh container with `run` and a fresh state root,
// and removes everything afterwards. A nonzero exit status is an error.
func (rt *runtime) runOnce(tmp string, c container) (testutil.Result, error) {
	if rt.broken != nil {
		return testutil.Result{}, rt.broken
	}
	root, err := testutil.NewStateRoot()
	if err != nil {
		return testutil.Result{}, err
	}
	defer func() {
		testutil.KillLeftovers(root)
		os.RemoveAll(root)
	}()
	rt.seq++
	id := fmt.Sprintf("bench-%d", rt.seq)
	bundle := filepath.Join(tmp, rt.name+"-"+id)
	defer os.RemoveAll(bundle)
	if err := testutil.WriteBundle(bundle, c.spec()); err != nil {
		return testutil.Result{}, err
	}
	run := testutil.Runtime{Bin: rt.bin, Global: []string{"--root", root}, Timeout: *timeout}
	r := run.Run("run", "--bundle", bundle, id)
	if r.Err != nil || r.ExitCode != 0 {
		return r, fmt.Errorf("%s run %s: exit %d, %v: %s", rt.name, c.args[0], r.ExitCode, r.Err, firstLine(r.Stderr))
	}
	return r, nil
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " ..."
	}
	return s
}
