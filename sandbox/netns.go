package sandbox

import (
	"fmt"
	"os/exec"
	"runtime"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"bulwark.dev/boot/control"
)

// netPlacement is the network namespace a child starts in.
type netPlacement struct {
	// own: a new, empty namespace (CLONE_NEWNET).
	own bool
	// path: the namespace to join when not own ("": this process's).
	path string
}

// sandboxNet is where the sandbox process goes for conf and spec: its
// own namespace in --network=none (boot brings its loopback up); in host
// mode the spec's namespace path (Docker's bridge, a pod's), or this
// process's when the spec names none. The gofer always gets its own.
func sandboxNet(a CreateArgs) netPlacement {
	if control.NetworkMode(a.Conf.Network, a.Spec) != "host" {
		return netPlacement{own: true}
	}
	return netPlacement{path: netnsPath(a.Spec)}
}

// netnsPath returns the network namespace path the spec names, or "".
func netnsPath(spec *specs.Spec) string {
	if spec.Linux == nil {
		return ""
	}
	for _, ns := range spec.Linux.Namespaces {
		if ns.Type == specs.NetworkNamespace {
			return ns.Path
		}
	}
	return ""
}

// startIn starts cmd in the network namespace of np. Joining a path
// happens on a locked thread made for it: the child inherits the netns of
// the thread that forks it, and the thread is never unlocked, so it ends
// with its goroutine instead of going back to the runtime in the wrong
// namespace.
func startIn(cmd *exec.Cmd, np netPlacement) error {
	if np.own || np.path == "" {
		return cmd.Start()
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		fd, err := unix.Open(np.path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			errc <- fmt.Errorf("opening network namespace %s: %w", np.path, err)
			return
		}
		err = unix.Setns(fd, unix.CLONE_NEWNET)
		unix.Close(fd)
		if err != nil {
			errc <- fmt.Errorf("joining network namespace %s: %w", np.path, err)
			return
		}
		errc <- cmd.Start()
	}()
	return <-errc
}

// netFlag is the clone flag for np.
func netFlag(np netPlacement) uintptr {
	if np.own {
		return unix.CLONE_NEWNET
	}
	return 0
}
