package docker

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"bulwark.dev/test/testutil"
)

// A run's cleanup does not happen when the test binary dies first (a
// panic in a test, go test's -timeout, kill -9). So that the next run on
// the machine starts clean, each run holds an flock on a file in its
// temporary directory for as long as it lives, and setup first sweeps what
// dead runs left: their processes, mounts and directories, and the private
// bridges that no live dockerd uses, with the iptables rules naming them.

// Where runs keep their state: tmpPattern for os.MkdirTemp, and the
// prefix of the bridges testutil.StartDockerd creates.
const (
	tmpDir        = "/tmp"
	tmpPattern    = "bwd-"
	bridgePrefix  = "bwd"
	runLockName   = "run.lock"
	keptName      = "kept"      // marks a directory kept with -keep: never swept
	unlockedGrace = time.Minute // a directory without a lock this young may be a run starting up
)

// runLock is this run's lock, held until the process exits.
var runLock *os.File

// holdRunLock creates and locks dir/run.lock for the life of the process.
func holdRunLock(dir string) error {
	f, err := os.Create(filepath.Join(dir, runLockName))
	if err != nil {
		return fmt.Errorf("creating the run lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return fmt.Errorf("locking %s: %w", f.Name(), err)
	}
	runLock = f
	return nil
}

// deadRun reports whether the run directory dir belongs to a run that is
// no longer alive: its lock can be taken, or it has none (a run that is
// starting, or one from before the locks) yet is not new and no process
// names it.
func deadRun(dir string) bool {
	if _, err := os.Stat(filepath.Join(dir, keptName)); err == nil {
		return false
	}
	f, err := os.Open(filepath.Join(dir, runLockName))
	if err != nil {
		fi, serr := os.Stat(dir)
		return serr == nil && time.Since(fi.ModTime()) > unlockedGrace && len(testutil.Leftovers(dir)) == 0
	}
	defer f.Close()
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil
}

// sweepStale removes what dead runs left behind and reports it with logf.
func sweepStale() {
	dirs, _ := filepath.Glob(filepath.Join(tmpDir, tmpPattern+"*"))
	for _, dir := range dirs {
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() || !deadRun(dir) {
			continue
		}
		if killed := testutil.KillLeftovers(dir); len(killed) > 0 {
			logf("stale run %s: killed processes %v", dir, killed)
		}
		if err := testutil.UnmountAll(dir); err != nil {
			logf("stale run %s: %v", dir, err)
		}
		if err := os.RemoveAll(dir); err != nil {
			logf("stale run %s: %v", dir, err)
		} else {
			logf("removed stale run directory %s", dir)
		}
	}
	bridges, err := unusedBridges()
	if err != nil {
		logf("looking for stale bridges: %v", err)
		return
	}
	for _, b := range bridges {
		if out, err := exec.Command("ip", "link", "del", b).CombinedOutput(); err != nil {
			logf("deleting stale bridge %s: %v: %s", b, err, out)
		} else {
			logf("deleted stale bridge %s", b)
		}
	}
	if err := testutil.DeleteIptablesRules(bridges...); err != nil {
		logf("%v", err)
	}
}

// unusedBridges lists the bridges named like testutil's private ones that
// no running dockerd was given with --bridge.
func unusedBridges() ([]string, error) {
	out, err := exec.Command("ip", "-o", "link", "show", "type", "bridge").Output()
	if err != nil {
		return nil, fmt.Errorf("ip link show: %w", err)
	}
	used := bridgesInUse()
	var stale []string
	for _, line := range strings.Split(string(out), "\n") {
		// "800: bwd17-2729: <BROADCAST,...> ..."
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		name := strings.TrimSuffix(f[1], ":")
		if strings.HasPrefix(name, bridgePrefix) && !used[name] {
			stale = append(stale, name)
		}
	}
	return stale, nil
}

// bridgesInUse returns the --bridge values of every running process.
func bridgesInUse() map[string]bool {
	used := map[string]bool{}
	cmdlines, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range cmdlines {
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		args := strings.Split(string(data), "\x00")
		for i, a := range args {
			if v, ok := strings.CutPrefix(a, "--bridge="); ok {
				used[v] = true
			} else if a == "--bridge" && i+1 < len(args) {
				used[args[i+1]] = true
			}
		}
	}
	return used
}
