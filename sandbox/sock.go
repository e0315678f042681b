package sandbox

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"

	"bulwark.dev/pkg/urpc"

	"golang.org/x/sys/unix"
)

// maxSocketPath is the longest path sockaddr_un holds (108 bytes with the
// terminating NUL).
const maxSocketPath = 107

// socketAddr returns a path usable to bind or connect the unix socket at
// path. A path too long for sockaddr_un is reached through
// /proc/self/fd/<dirfd>/<name> with an O_PATH fd of its directory; done
// closes that fd and must be called after bind/connect.
func socketAddr(path string) (addr string, done func(), err error) {
	if len(path) <= maxSocketPath {
		return path, func() {}, nil
	}
	dir, name := filepath.Split(path)
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", nil, fmt.Errorf("opening socket directory %q: %w", dir, err)
	}
	addr = "/proc/self/fd/" + strconv.Itoa(fd) + "/" + name
	if len(addr) > maxSocketPath {
		unix.Close(fd)
		return "", nil, fmt.Errorf("socket name %q is too long", name)
	}
	return addr, func() { unix.Close(fd) }, nil
}

// listenControl binds and listens on the control socket at path (replacing
// a stale one) and returns the listening socket as a file for the sandbox.
func listenControl(path string) (*os.File, error) {
	if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
		return nil, fmt.Errorf("removing stale control socket %q: %w", path, err)
	}
	addr, done, err := socketAddr(path)
	if err != nil {
		return nil, err
	}
	defer done()
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: addr, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("listening on control socket %q: %w", path, err)
	}
	ln.SetUnlinkOnClose(false)
	defer ln.Close()
	f, err := ln.File()
	if err != nil {
		return nil, fmt.Errorf("control socket %q: %w", path, err)
	}
	return f, nil
}

// dialControl connects to the control socket at path.
func dialControl(path string) (*urpc.Client, error) {
	if path == "" {
		return nil, fmt.Errorf("sandbox has no control socket")
	}
	addr, done, err := socketAddr(path)
	if err != nil {
		return nil, err
	}
	defer done()
	c, err := urpc.Dial(addr)
	if err != nil {
		return nil, fmt.Errorf("connecting to the sandbox: %w", err)
	}
	return c, nil
}
