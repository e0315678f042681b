package testutil

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// HostBusybox is where Debian's busybox-static package installs busybox.
const HostBusybox = "/bin/busybox"

// rootfsVersion changes whenever BuildBusyboxRootfs lays out the tree
// differently, so cached trees from older layouts are rebuilt.
const rootfsVersion = "1"

// stampFile records, inside a built tree, what it was built from.
const stampFile = ".bulwark-rootfs"

// rootfsDirs are created in every busybox root filesystem, with their modes.
var rootfsDirs = []struct {
	path string
	mode os.FileMode
}{
	{"bin", 0o755}, {"dev", 0o755}, {"dev/pts", 0o755}, {"dev/shm", os.ModeSticky | 0o777},
	{"etc", 0o755}, {"proc", 0o555}, {"root", 0o700}, {"sys", 0o555},
	{"tmp", os.ModeSticky | 0o777},
}

// rootfsFiles are written into every busybox root filesystem.
var rootfsFiles = []struct {
	path, content string
}{
	{"etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"},
	{"etc/group", "root:x:0:\nnogroup:x:65534:\n"},
	{"etc/hostname", "bulwark\n"},
}

// BuildBusyboxRootfs lays out a minimal root filesystem in dir (which must
// not exist yet or be empty): /bin/busybox copied from the host's static
// busybox, a relative symlink /bin/<applet> -> busybox for every applet, the
// usual empty directories and an /etc/passwd and /etc/group.
func BuildBusyboxRootfs(dir string) error {
	sum, err := busyboxDigest()
	if err != nil {
		return err
	}
	applets, err := busyboxApplets()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating rootfs %q: %w", dir, err)
	}
	for _, d := range rootfsDirs {
		p := filepath.Join(dir, d.path)
		if err := os.MkdirAll(p, d.mode); err != nil {
			return fmt.Errorf("creating %q: %w", p, err)
		}
		if err := os.Chmod(p, d.mode); err != nil { // not subject to umask
			return fmt.Errorf("setting mode of %q: %w", p, err)
		}
	}
	for _, f := range rootfsFiles {
		p := filepath.Join(dir, f.path)
		if err := os.WriteFile(p, []byte(f.content), 0o644); err != nil {
			return fmt.Errorf("writing %q: %w", p, err)
		}
	}
	if err := CopyFile(HostBusybox, filepath.Join(dir, "bin/busybox"), 0o755); err != nil {
		return err
	}
	for _, a := range applets {
		p := filepath.Join(dir, "bin", a)
		if err := os.Symlink("busybox", p); err != nil && !errors.Is(err, os.ErrExist) {
			return fmt.Errorf("linking applet %q: %w", a, err)
		}
	}
	stamp := filepath.Join(dir, stampFile)
	if err := os.WriteFile(stamp, []byte(rootfsStamp(sum)), 0o644); err != nil {
		return fmt.Errorf("writing %q: %w", stamp, err)
	}
	return nil
}

// CachedBusyboxRootfs returns <repo>/.cache/rootfs/busybox, building it first
// unless a tree built from the same busybox binary and layout is there. It
// is safe against concurrent callers (other test binaries): the tree is built
// in a temporary directory and renamed into place.
func CachedBusyboxRootfs(repo string) (string, error) {
	sum, err := busyboxDigest()
	if err != nil {
		return "", err
	}
	cache := filepath.Join(repo, ".cache", "rootfs")
	dst := filepath.Join(cache, "busybox")
	if got, err := os.ReadFile(filepath.Join(dst, stampFile)); err == nil && string(got) == rootfsStamp(sum) {
		return dst, nil
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return "", fmt.Errorf("creating rootfs cache %q: %w", cache, err)
	}
	tmp, err := os.MkdirTemp(cache, "busybox.tmp-")
	if err != nil {
		return "", fmt.Errorf("creating rootfs cache %q: %w", cache, err)
	}
	defer os.RemoveAll(tmp)
	if err := os.Chmod(tmp, 0o755); err != nil {
		return "", fmt.Errorf("setting mode of %q: %w", tmp, err)
	}
	if err := BuildBusyboxRootfs(tmp); err != nil {
		return "", err
	}
	// Move a stale tree out of the way, then move ours in. Losing the race to
	// another builder is fine: its tree is as good as ours.
	if _, err := os.Stat(dst); err == nil {
		old, err := os.MkdirTemp(cache, "busybox.old-")
		if err != nil {
			return "", fmt.Errorf("replacing stale rootfs %q: %w", dst, err)
		}
		defer os.RemoveAll(old)
		_ = os.Rename(dst, filepath.Join(old, "tree"))
	}
	if err := os.Rename(tmp, dst); err != nil {
		if got, rerr := os.ReadFile(filepath.Join(dst, stampFile)); rerr == nil && string(got) == rootfsStamp(sum) {
			return dst, nil
		}
		return "", fmt.Errorf("installing rootfs %q: %w", dst, err)
	}
	return dst, nil
}

func rootfsStamp(busyboxSum string) string {
	return "layout " + rootfsVersion + "\nbusybox sha256 " + busyboxSum + "\n"
}

// busyboxDigest returns the SHA-256 of the host's busybox, failing with an
// install hint when it is missing.
func busyboxDigest() (string, error) {
	f, err := os.Open(HostBusybox)
	if err != nil {
		return "", fmt.Errorf("opening %s (run: apt-get install busybox-static): %w", HostBusybox, err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("reading %s: %w", HostBusybox, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// busyboxApplets lists the applets the host's busybox provides.
func busyboxApplets() ([]string, error) {
	out, err := exec.Command(HostBusybox, "--list").Output()
	if err != nil {
		return nil, fmt.Errorf("listing busybox applets (%s --list; run: apt-get install busybox-static): %w", HostBusybox, err)
	}
	var applets []string
	for _, a := range strings.Fields(string(out)) {
		if a != "busybox" && !strings.Contains(a, "/") {
			applets = append(applets, a)
		}
	}
	if len(applets) == 0 {
		return nil, fmt.Errorf("listing busybox applets: %s --list printed none", HostBusybox)
	}
	return applets, nil
}

// CopyFile copies the regular file src to dst with the given mode.
func CopyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("copying %q: %w", src, err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return fmt.Errorf("copying %q to %q: %w", src, dst, err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copying %q to %q: %w", src, dst, err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("copying %q to %q: %w", src, dst, err)
	}
	return os.Chmod(dst, mode)
}
