package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"bulwark.dev/test/testutil"
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

// micro runs one microbenchmark container and parses its "name value unit"
// line.
func (rt *runtime) micro(tmp, rootfs string, args []string) result {
	r, err := rt.runOnce(tmp, rootfs, args)
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

// startup times n `run` of /bin/true end to end and returns the mean.
func (rt *runtime) startup(tmp, rootfs string, n int) result {
	var total time.Duration
	for i := 0; i < n; i++ {
		r, err := rt.runOnce(tmp, rootfs, []string{"/bin/true"})
		if err != nil {
			return result{err: err}
		}
		total += r.Duration
	}
	return result{value: total.Seconds() * 1000 / float64(n), unit: "ms/run"}
}

// runOnce runs args in a fresh container with `run` and a fresh state root,
// and removes everything afterwards.
func (rt *runtime) runOnce(tmp, rootfs string, args []string) (testutil.Result, error) {
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
	if err := testutil.WriteBundle(bundle, testutil.NewSpec(testutil.SpecOptions{Args: args, Rootfs: rootfs})); err != nil {
		return testutil.Result{}, err
	}
	run := testutil.Runtime{Bin: rt.bin, Global: []string{"--root", root}, Timeout: *timeout}
	r := run.Run("run", "--bundle", bundle, id)
	if r.Err != nil || r.ExitCode != 0 {
		return r, fmt.Errorf("%s run %s: exit %d, %v: %s", rt.name, args[0], r.ExitCode, r.Err, firstLine(r.Stderr))
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
