package boot

import (
	"fmt"

	"golang.org/x/sys/unix"

	"bulwark.dev/pkg/kernel"
	"bulwark.dev/pkg/net/inet"
	"bulwark.dev/pkg/syscalls"
)

// Networking. The kernel's AF_INET, AF_INET6 and AF_NETLINK sockets are
// host sockets that the sandbox creates in its own network namespace
// (pkg/net/inet); the modes differ only in which namespace that is:
//
//   - none: the fresh namespace the sandbox was started in (CLONE_NEWNET),
//     whose only interface, lo, setupNetwork brings up here, so TCP and
//     UDP on 127.0.0.1 and ::1 work and nothing else is reachable;
//   - host: the spec's namespace (Docker's bridge, a pod's), which
//     sandbox.Create entered before starting this process, or the host's
//     when the spec names none. Its configuration is left as it is.

// setupNetwork prepares the sandbox's network namespace for mode; it runs
// before confine and the seccomp filter.
func setupNetwork(mode string) error {
	if mode != "none" {
		return nil
	}
	if err := loopbackUp(); err != nil {
		return fmt.Errorf("bringing up the loopback interface: %w", err)
	}
	return nil
}

// loopbackUp sets IFF_UP on lo (SIOCGIFFLAGS, SIOCSIFFLAGS); the kernel
// then configures 127.0.0.1/8 and ::1 on it by itself.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	req, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, req); err != nil {
		return fmt.Errorf("SIOCGIFFLAGS: %w", err)
	}
	req.SetUint16(req.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, req); err != nil {
		return fmt.Errorf("SIOCSIFFLAGS: %w", err)
	}
	return nil
}

// registerNetwork gives k's socket stack the host-backed families.
func registerNetwork(k *kernel.Kernel) error {
	if err := inet.Register(syscalls.NetStack(k)); err != nil {
		return fmt.Errorf("registering the inet socket families: %w", err)
	}
	return nil
}
