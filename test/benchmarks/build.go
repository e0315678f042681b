package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"bulwark.dev/test/testutil"
)

// buildRootfs lays out a fresh busybox root filesystem at dst and compiles
// every src/*.c into dst/bench/<name> with gcc -O2 -static. It returns the
// benchmark names in order.
func buildRootfs(src, dst string) ([]string, error) {
	if _, err := exec.LookPath("gcc"); err != nil {
		return nil, fmt.Errorf("finding gcc (run: apt-get install build-essential): %w", err)
	}
	sources, err := filepath.Glob(filepath.Join(src, "*.c"))
	if err != nil || len(sources) == 0 {
		return nil, fmt.Errorf("no benchmark sources in %s", src)
	}
	sort.Strings(sources)
	if err := os.RemoveAll(dst); err != nil {
		return nil, fmt.Errorf("removing the old %s: %w", dst, err)
	}
	if err := testutil.BuildBusyboxRootfs(dst); err != nil {
		return nil, err
	}
	bin := filepath.Join(dst, "bench")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return nil, fmt.Errorf("creating %s: %w", bin, err)
	}
	var names []string
	for _, s := range sources {
		name := strings.TrimSuffix(filepath.Base(s), ".c")
		out := filepath.Join(bin, name)
		cmd := exec.Command("gcc", "-O2", "-static", "-Wall", "-o", out, s)
		if msg, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("compiling %s: %w\n%s", s, err, msg)
		}
		names = append(names, name)
	}
	return names, nil
}

// lockRun takes an exclusive flock of path, waiting for another run of this
// program that holds it: two runs would rebuild the shared benchmark rootfs
// under each other and compete for the CPUs. Calling the
// returned function releases it.
func lockRun(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening lock %q: %w", path, err)
	}
	unlock := func() { f.Close() }
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err == nil {
		return unlock, nil
	}
	fmt.Fprintf(os.Stderr, "waiting for another benchmark run (it holds %s) ...\n", path)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if err == nil {
			return unlock, nil
		}
		if !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, fmt.Errorf("locking %q: %w", path, err)
		}
	}
}
