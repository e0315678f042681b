package boot

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// rootCandidates are directories a fresh tmpfs may be mounted over to
// become the sandbox's root. The mount happens in the sandbox's own mount
// namespace, so the host never sees it.
var rootCandidates = []string{"/tmp", "/mnt", "/var", "/proc"}

// confine moves the sandbox process into an empty, read-only root so it
// can reach no host path: it makes every mount private, mounts a small
// tmpfs, pivots into it and detaches the old root. It also sets the
// hostname of the sandbox's UTS namespace. Everything the sandbox needs
// later must already be open.
func confine(hostname string) error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("making mounts private: %w", err)
	}
	dir := ""
	for _, d := range rootCandidates {
		if fi, err := os.Stat(d); err == nil && fi.IsDir() {
			dir = d
			break
		}
	}
	if dir == "" {
		return fmt.Errorf("no directory to mount the sandbox root on (tried %v)", rootCandidates)
	}
	const flags = unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC
	if err := unix.Mount("bulwark-root", dir, "tmpfs", flags, "size=64k,mode=0555"); err != nil {
		return fmt.Errorf("mounting the sandbox root on %s: %w", dir, err)
	}
	if err := unix.Chdir(dir); err != nil {
		return fmt.Errorf("entering the sandbox root: %w", err)
	}
	// pivot_root(".", ".") stacks the old root on top of the new one at
	// "/"; detaching it leaves the new root alone.
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root into the sandbox root: %w", err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detaching the host root: %w", err)
	}
	if err := unix.Chdir("/"); err != nil {
		return fmt.Errorf("entering the sandbox root: %w", err)
	}
	if err := unix.Mount("", "/", "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY|flags, ""); err != nil {
		return fmt.Errorf("making the sandbox root read-only: %w", err)
	}
	if hostname != "" {
		if err := unix.Sethostname([]byte(hostname)); err != nil {
			return fmt.Errorf("setting hostname %q: %w", hostname, err)
		}
	}
	return nil
}
