package host

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Reopen returns a new fd for host fd that the sandbox may change freely.
// A FIFO or a character device (a tty, /dev/null) is opened again through
// /proc/self/fd/N with the same access mode, O_NOCTTY and O_NONBLOCK:
// that makes a new open file description (the same pipe, the same tty),
// so setting O_NONBLOCK does not reach the caller's terminal or shell
// pipe. Other kinds cannot (sockets) or need not (regular files, which
// must share the caller's offset) be reopened: for them Reopen returns a
// duplicate sharing fd's description, with its flags unchanged.
//
// Reopen opens a host path, so the sandbox must call it before it gives
// up access to the host's /proc. fd itself is left as it was; the caller
// owns the returned fd (close-on-exec).
func Reopen(fd int) (int, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return -1, fmt.Errorf("host fd %d: fstat: %w", fd, err)
	}
	if typ := st.Mode & unix.S_IFMT; typ != unix.S_IFIFO && typ != unix.S_IFCHR {
		nfd, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
		if err != nil {
			return -1, fmt.Errorf("host fd %d: dup: %w", fd, err)
		}
		return nfd, nil
	}
	fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err != nil {
		return -1, fmt.Errorf("host fd %d: F_GETFL: %w", fd, err)
	}
	path := fmt.Sprintf("/proc/self/fd/%d", fd)
	nfd, err := unix.Open(path, fl&unix.O_ACCMODE|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("host fd %d: reopening %s: %w", fd, path, err)
	}
	// The magic link names the very inode; check nothing else was opened.
	var nst unix.Stat_t
	if err := unix.Fstat(nfd, &nst); err != nil || nst.Dev != st.Dev || nst.Ino != st.Ino || nst.Rdev != st.Rdev {
		unix.Close(nfd)
		return -1, fmt.Errorf("host fd %d: %s opened another file", fd, path)
	}
	return nfd, nil
}
