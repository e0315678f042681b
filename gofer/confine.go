package gofer

import (
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// makePrivate stops mount events propagating between the gofer's mount
// namespace and the host's. It refuses to run in its parent's or init's
// mount namespace (the caller forgot CLONE_NEWNS), where it would change
// the host's propagation.
func makePrivate() error {
	self, err := os.Readlink("/proc/self/ns/mnt")
	if err == nil {
		pids := []string{"1"}
		if pp, err := parentPID(); err == nil {
			pids = append(pids, pp)
		}
		for _, pid := range pids {
			if other, err := os.Readlink("/proc/" + pid + "/ns/mnt"); err == nil && other == self {
				return fmt.Errorf("the gofer must run in its own mount namespace (it shares pid %s's)", pid)
			}
		}
	}
	if err := unix.Mount("", "/", "", unix.MS_PRIVATE|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("making mounts private: %w", err)
	}
	return nil
}

// parentPID returns the parent's pid as /proc sees it (getppid says 0 in
// a new pid namespace).
func parentPID() (string, error) {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return "", err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return "", errors.New("malformed /proc/self/stat")
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 2 {
		return "", errors.New("malformed /proc/self/stat")
	}
	return f[1], nil
}

// confine makes host paths unreachable: an empty read-only tmpfs mounted on
// dir (any directory, in the gofer's private mount namespace) becomes the
// root with pivot_root, and the old root is detached. Where pivot_root is
// impossible it falls back to chroot into that tmpfs. The O_PATH fds the
// servers hold keep working.
func confine(dir string, l *log.Logger) error {
	if filepath.Clean(dir) == "/" {
		// A tmpfs mounted on "/" would sit above the process root, where
		// neither pivot_root nor chroot can reach it (runsc do serves the
		// host's /). /proc exists on every host runsc runs on (it needs
		// /proc/self/exe) and is private to this mount namespace.
		dir = "/proc"
	}
	if err := unix.Mount("bulwark-gofer", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC,
		"size=4k,nr_inodes=8,mode=0555"); err != nil {
		return fmt.Errorf("mounting the empty root on %q: %w", dir, err)
	}
	if err := unix.Chdir(dir); err != nil {
		return fmt.Errorf("chdir %q: %w", dir, err)
	}
	if err := unix.PivotRoot(".", "."); err == nil {
		// The old root is now stacked on "."; detach it.
		if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
			return fmt.Errorf("detaching the old root: %w", err)
		}
	} else {
		if l != nil {
			l.Printf("gofer: pivot_root: %v; using chroot", err)
		}
		if err := unix.Chroot("."); err != nil {
			return fmt.Errorf("chroot: %w", err)
		}
	}
	if err := unix.Chdir("/"); err != nil {
		return fmt.Errorf("chdir /: %w", err)
	}
	if err := unix.Mount("", "/", "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("making the empty root read-only: %w", err)
	}
	return nil
}

// keptCaps are the capabilities the file server needs: chown, bypassing
// permission checks (the sandbox kernel does its own), linkat with
// AT_EMPTY_PATH, and keeping set-id bits on chmod.
var keptCaps = []uintptr{
	unix.CAP_CHOWN, unix.CAP_DAC_OVERRIDE, unix.CAP_DAC_READ_SEARCH, unix.CAP_FOWNER, unix.CAP_FSETID,
}

// dropPrivileges sets no_new_privs and drops every capability but
// keptCaps from all threads (bounding, effective, permitted, inheritable
// and ambient sets).
func dropPrivileges() error {
	allThreads := func(what string, trap, a1, a2, a3 uintptr) error {
		if _, _, e := syscall.AllThreadsSyscall(trap, a1, a2, a3); e != 0 {
			if e == syscall.ENOTSUP {
				return fmt.Errorf("%s: not possible in a cgo binary (build runsc with CGO_ENABLED=0)", what)
			}
			return fmt.Errorf("%s: %w", what, e)
		}
		return nil
	}
	if err := allThreads("no_new_privs", unix.SYS_PRCTL, unix.PR_SET_NO_NEW_PRIVS, 1, 0); err != nil {
		return err
	}
	var keep [2]uint32
	for _, c := range keptCaps {
		keep[c/32] |= 1 << (c % 32)
	}
	for c := uintptr(0); c <= unix.CAP_LAST_CAP; c++ {
		if keep[c/32]&(1<<(c%32)) != 0 {
			continue
		}
		if err := allThreads("dropping bounding capability", unix.SYS_PRCTL, unix.PR_CAPBSET_DROP, c, 0); err != nil && !errors.Is(err, unix.EINVAL) {
			return err
		}
	}
	if err := allThreads("clearing ambient capabilities", unix.SYS_PRCTL, unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0); err != nil {
		return err
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	data := [2]unix.CapUserData{
		{Effective: keep[0], Permitted: keep[0]},
		{Effective: keep[1], Permitted: keep[1]},
	}
	// The pointers go straight into the call: AllThreadsSyscall is
	// go:uintptrescapes, which keeps them valid.
	if _, _, e := syscall.AllThreadsSyscall(unix.SYS_CAPSET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&data[0])), 0); e != 0 {
		return fmt.Errorf("capset: %w", e)
	}
	return nil
}
