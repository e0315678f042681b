package testutil

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// DebianSuite is the Debian release of the userland root filesystem.
const DebianSuite = "bookworm"

// DebianPackages are installed on top of debootstrap's minbase variant:
// interpreters (python3, perl), ps (procps) and the network programs of
// issue 5's tests (nginx-light, curl, iproute2 for `ip`, iputils-ping).
// The completion marker lists them, so changing this list rebuilds the
// cached tree.
var DebianPackages = []string{"python3", "perl", "procps", "nginx-light", "curl", "iproute2", "iputils-ping"}

// debianLayout changes whenever BuildDebianRootfs builds the tree
// differently, so that cached trees from older layouts are rebuilt.
const debianLayout = "1"

// debianBuildTimeout bounds a build when the caller's context has no
// deadline.
const debianBuildTimeout = 30 * time.Minute

// progressEvery is how often a build logs its progress at least.
const progressEvery = 20 * time.Second

// debianStamp is the completion marker written into a finished tree.
func debianStamp() string {
	return fmt.Sprintf("debian %s minbase\npackages %s\nlayout %s\n",
		DebianSuite, strings.Join(DebianPackages, ","), debianLayout)
}

// Logf receives progress messages; testing.T.Logf and log.Printf fit.
type Logf func(format string, args ...any)

// CachedDebianRootfs returns <repo>/.cache/rootfs/debian-bookworm, building
// it first with BuildDebianRootfs unless a complete tree is there. A tree is
// complete when it holds the completion marker, which is written last, so an
// interrupted build is redone. Concurrent callers (other test binaries)
// serialize on a flock of <repo>/.cache/rootfs/debian-bookworm.lock: one
// builds, the others wait and then use its tree. A build takes minutes;
// progress goes to logf (nil discards it).
func CachedDebianRootfs(ctx context.Context, repo string, logf Logf) (string, error) {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	cache := filepath.Join(repo, ".cache", "rootfs")
	name := "debian-" + DebianSuite
	dst := filepath.Join(cache, name)
	if debianComplete(dst) {
		return dst, nil
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return "", fmt.Errorf("creating rootfs cache %q: %w", cache, err)
	}
	unlock, err := lockFile(ctx, filepath.Join(cache, name+".lock"), logf)
	if err != nil {
		return "", err
	}
	defer unlock()
	if debianComplete(dst) { // built by whoever held the lock
		return dst, nil
	}
	mirror, err := DebianMirror()
	if err != nil {
		return "", err
	}
	tmp := dst + ".tmp"
	for _, d := range []string{dst, tmp} {
		if err := removeTree(d); err != nil {
			return "", err
		}
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, debianBuildTimeout)
		defer cancel()
	}
	logf("building the Debian %s rootfs in %s from %s (takes a few minutes; cached afterwards)", DebianSuite, dst, mirror)
	start := time.Now()
	if err := BuildDebianRootfs(ctx, tmp, mirror, logf); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, dst); err != nil {
		return "", fmt.Errorf("installing rootfs %q: %w", dst, err)
	}
	logf("built the Debian %s rootfs in %v", DebianSuite, time.Since(start).Round(time.Second))
	return dst, nil
}

// debianComplete reports whether dir holds a finished tree of the current
// layout.
func debianComplete(dir string) bool {
	got, err := os.ReadFile(filepath.Join(dir, stampFile))
	return err == nil && string(got) == debianStamp()
}

// BuildDebianRootfs runs `debootstrap --variant=minbase
// --include=<DebianPackages> bookworm dir mirror`, then trims the downloaded
// packages and writes the completion marker into dir. dir must not exist or
// be empty. Progress goes to logf (nil discards it).
func BuildDebianRootfs(ctx context.Context, dir, mirror string, logf Logf) error {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	bin, err := exec.LookPath("debootstrap")
	if err != nil {
		return fmt.Errorf("debootstrap not found (run scripts/install.sh, or apt-get install debootstrap): %w", err)
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("building the Debian rootfs with debootstrap needs root (euid is %d)", os.Geteuid())
	}
	args := []string{"--variant=minbase", "--include=" + strings.Join(DebianPackages, ","), DebianSuite, dir, mirror}
	if err := runDebootstrap(ctx, bin, args, logf); err != nil {
		// debootstrap may leave /proc, /sys or /dev mounted in dir if it was killed.
		_ = unmountUnder(dir)
		return err
	}
	if err := unmountUnder(dir); err != nil {
		return err
	}
	debs, _ := filepath.Glob(filepath.Join(dir, "var/cache/apt/archives/*.deb"))
	for _, d := range debs {
		if err := os.Remove(d); err != nil {
			return fmt.Errorf("trimming the rootfs: %w", err)
		}
	}
	stamp := filepath.Join(dir, stampFile)
	if err := os.WriteFile(stamp, []byte(debianStamp()), 0o644); err != nil {
		return fmt.Errorf("writing %q: %w", stamp, err)
	}
	return nil
}

// runDebootstrap runs debootstrap in its own process group (killed when ctx
// ends), logging each new phase of its output and keeping the tail of it
// for the error.
func runDebootstrap(ctx context.Context, bin string, args []string, logf Logf) error {
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("running debootstrap: %w", err)
	}
	defer r.Close()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = w, w
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	logf("$ %s %s", bin, strings.Join(args, " "))
	err = cmd.Start()
	w.Close()
	if err != nil {
		return fmt.Errorf("starting debootstrap: %w", err)
	}
	tail := make(chan []string, 1)
	go func() { tail <- followProgress(r, logf) }()
	err = cmd.Wait()
	r.Close() // a straggler holding the pipe must not block us
	lines := <-tail
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%v)", err, ctx.Err())
		}
		return fmt.Errorf("debootstrap %s: %w; last output:\n%s", strings.Join(args, " "), err, strings.Join(lines, "\n"))
	}
	return nil
}

// followProgress reads debootstrap's output, logs the first line of each
// phase ("I: Retrieving ...", "I: Extracting ..."), every warning or error,
// and otherwise the current line every progressEvery, and returns the last
// lines.
func followProgress(r io.Reader, logf Logf) []string {
	const keep = 30
	var tail []string
	seen := map[string]bool{}
	last := time.Now()
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if tail = append(tail, line); len(tail) > keep {
			tail = tail[1:]
		}
		rest, info := strings.CutPrefix(line, "I: ")
		phase, _, _ := strings.Cut(rest, " ")
		switch {
		case info && !seen[phase], !info && (strings.HasPrefix(line, "W: ") || strings.HasPrefix(line, "E: ")),
			time.Since(last) >= progressEvery:
			seen[phase] = seen[phase] || info
			last = time.Now()
			logf("debootstrap: %s", line)
		}
	}
	_, _ = io.Copy(io.Discard, r)
	return tail
}

// lockFile takes an exclusive flock of path, waiting while ctx allows, and
// returns the function that releases it.
func lockFile(ctx context.Context, path string, logf Logf) (func(), error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening lock %q: %w", path, err)
	}
	for waited := false; ; {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, fmt.Errorf("locking %q: %w", path, err)
		}
		if !waited {
			logf("waiting for another test binary building the rootfs (it holds %s)", path)
			waited = true
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("waiting for lock %q: %w", path, ctx.Err())
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// removeTree removes dir after unmounting whatever an interrupted
// debootstrap left mounted under it. A missing dir is fine.
func removeTree(dir string) error {
	if _, err := os.Lstat(dir); os.IsNotExist(err) {
		return nil
	}
	if err := unmountUnder(dir); err != nil {
		return err
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("removing stale rootfs %q: %w", dir, err)
	}
	return nil
}

// unmountUnder detaches every mount at or below dir, deepest first.
func unmountUnder(dir string) error {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return fmt.Errorf("reading mountinfo: %w", err)
	}
	points := mountsUnder(string(data), dir)
	for i := len(points) - 1; i >= 0; i-- {
		if err := syscall.Unmount(points[i], syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) {
			return fmt.Errorf("unmounting %q left by debootstrap: %w", points[i], err)
		}
	}
	return nil
}

// mountsUnder returns the mount points in mountinfo text that are dir or
// below it, in mount order.
func mountsUnder(mountinfo, dir string) []string {
	dir = filepath.Clean(dir)
	var out []string
	for _, line := range strings.Split(mountinfo, "\n") {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		p := unescapeMountinfo(f[4])
		if p == dir || strings.HasPrefix(p, dir+"/") {
			out = append(out, p)
		}
	}
	return out
}

// unescapeMountinfo undoes the octal escapes (\040 for a space) of a
// mountinfo path.
func unescapeMountinfo(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var v byte
			ok := true
			for _, c := range []byte(s[i+1 : i+4]) {
				if c < '0' || c > '7' {
					ok = false
					break
				}
				v = v*8 + (c - '0')
			}
			if ok {
				b.WriteByte(v)
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
