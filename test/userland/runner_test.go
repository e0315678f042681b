package userland

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"bulwark.dev/test/testutil"
)

// containerEnv is the environment of every container process: Debian's
// usual PATH and a UTF-8 locale glibc has built in.
var containerEnv = []string{
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	"HOME=/root",
	"TERM=dumb",
	"LANG=C.UTF-8",
}

// maxTimeouts is how many runtime commands may time out before the
// remaining cases fail at once: a hanging runtime must not make the suite
// take hours.
const maxTimeouts = 3

// timeouts counts the runtime commands of this run that timed out.
var timeouts atomic.Int32

// scriptCase is one bash script run as a container's process and what it
// must print on stdout and exit with.
type scriptCase struct {
	name   string
	script string                 // run as bash -c script
	want   string                 // the exact stdout, unless check is set
	check  func(out string) error // checks stdout instead of want
	exit   int
}

// runCases runs each case in its own container, as a subtest.
func runCases(t *testing.T, cases []scriptCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := runScript(t, c.script)
			ok := r.Err == nil && r.ExitCode == c.exit
			var why string
			if c.check != nil {
				if err := c.check(r.Stdout); err != nil {
					ok, why = false, err.Error()
				}
			} else if r.Stdout != c.want {
				ok, why = false, fmt.Sprintf("want stdout %q", c.want)
			}
			if !ok {
				t.Errorf("script:\n%s\nwant exit status %d; %s; got:\n%s", c.script, c.exit, why, r)
			}
		})
	}
}

// runScript runs `bash -c script` in a fresh container (`run` in the
// foreground) under the runtime being tested, and cleans up after it.
func runScript(t *testing.T, script string) testutil.Result {
	t.Helper()
	if n := timeouts.Load(); n >= maxTimeouts {
		t.Fatalf("not run: %d runtime commands already timed out in this run (see the first failing tests)", n)
	}
	root, err := testutil.NewStateRoot()
	if err != nil {
		t.Fatal(err)
	}
	logs := t.TempDir()
	rt := testutil.Runtime{
		Bin:     runtimeBin,
		Global:  []string{"--root", root, "--debug-log", logs + "/"},
		Timeout: *cmdTimeout,
	}
	if *runcFlag {
		rt.Global = []string{"--root", root, "--log", filepath.Join(logs, "runc.log")}
	}
	id := fmt.Sprintf("userland-%d", rand.Uint32())
	bundle := filepath.Join(t.TempDir(), "bundle")
	if err := testutil.WriteBundle(bundle, newSpec(script)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		quick := rt
		quick.Timeout = min(15*time.Second, *cmdTimeout)
		if r := quick.Run("delete", "--force", id); r.TimedOut {
			timeouts.Add(1)
		}
		testutil.KillLeftovers(root)
		os.RemoveAll(root)
		if t.Failed() {
			dumpLogs(t, logs)
		}
	})
	r := rt.Run("run", "--bundle", bundle, id)
	t.Logf("$ %s  -> exit %d (%v)", strings.Join(r.Args, " "), r.ExitCode, r.Duration.Round(time.Millisecond))
	if r.TimedOut {
		timeouts.Add(1)
	}
	return r
}

// newSpec is the spec of a container running `bash -c script` on the Debian
// rootfs: read-only (the cache is shared; /tmp is a tmpfs), with a /dev/shm
// tmpfs for POSIX shared memory and semaphores.
func newSpec(script string) *specs.Spec {
	spec := testutil.NewSpec(testutil.SpecOptions{
		Args:   []string{"/bin/bash", "-c", script},
		Env:    containerEnv,
		Rootfs: rootfs,
	})
	spec.Root.Readonly = true
	spec.Mounts = append(spec.Mounts, specs.Mount{
		Destination: "/dev/shm", Type: "tmpfs", Source: "shm",
		Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"},
	})
	return spec
}

// dumpLogs writes the tail of every debug log into the test log.
func dumpLogs(t *testing.T, dir string) {
	const maxBytes = 16 << 10
	files, _ := os.ReadDir(dir)
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(dir, f.Name()))
		if err != nil {
			t.Logf("reading debug log %s: %v", f.Name(), err)
			continue
		}
		if len(data) > maxBytes {
			data = append([]byte("[...]\n"), data[len(data)-maxBytes:]...)
		}
		t.Logf("==== debug log %s ====\n%s", f.Name(), data)
	}
}
