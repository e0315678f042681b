package sandbox

import (
	"fmt"
	"os/exec"
	"runtime"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// How the spec's namespaces map onto the sandbox process (the process whose
// pid `state` reports, so the one runtime-tools inspects):
//   - uts, ipc, cgroup: listed with a path → the sandbox joins it; listed
//     without → a new one; not listed → the host's (runsc's own).
//   - network: chosen by netPlacement (netns.go).
//   - pid, mount: the sandbox always gets new ones, path or not: its kernel
//     serves the application's pids and mounts, and the sandbox must be
//     init of its own pid namespace and pivot_root in its own mount
//     namespace. runtime-tools therefore reports "set pid/mnt namespace by
//     path" and "inherit namespace pid/mnt without type" as not ok.
//   - user: not supported yet; create fails.
//   - a hostname without a uts namespace fails create (as with runc): the
//     sandbox would otherwise set the host's hostname.
// Every path must name a namespace of the entry's type (NS_GET_NSTYPE).

// nsGetNSType is the NS_GET_NSTYPE ioctl: it returns a namespace fd's
// CLONE_NEW* type.
const nsGetNSType = 0xb703

// nsFlags maps spec namespace types to clone flags.
var nsFlags = map[specs.LinuxNamespaceType]uintptr{
	specs.PIDNamespace:     unix.CLONE_NEWPID,
	specs.NetworkNamespace: unix.CLONE_NEWNET,
	specs.MountNamespace:   unix.CLONE_NEWNS,
	specs.IPCNamespace:     unix.CLONE_NEWIPC,
	specs.UTSNamespace:     unix.CLONE_NEWUTS,
	specs.UserNamespace:    unix.CLONE_NEWUSER,
	specs.CgroupNamespace:  unix.CLONE_NEWCGROUP,
}

// joinable are the namespaces the sandbox joins by path or creates.
var joinable = map[specs.LinuxNamespaceType]bool{
	specs.UTSNamespace: true, specs.IPCNamespace: true, specs.CgroupNamespace: true,
}

// nsJoin is a namespace the sandbox joins before it starts.
type nsJoin struct {
	flag uintptr
	path string
}

// sandboxNamespaces checks the spec's namespaces and returns the clone
// flags of the sandbox (besides the network one) and the namespaces it
// joins.
func sandboxNamespaces(spec *specs.Spec) (uintptr, []nsJoin, error) {
	flags := uintptr(unix.CLONE_NEWNS | unix.CLONE_NEWPID)
	var joins []nsJoin
	if spec.Linux == nil {
		if spec.Hostname != "" {
			return 0, nil, fmt.Errorf("hostname %q needs a uts namespace in linux.namespaces", spec.Hostname)
		}
		return flags, nil, nil
	}
	seen := map[specs.LinuxNamespaceType]bool{}
	for i, ns := range spec.Linux.Namespaces {
		flag, ok := nsFlags[ns.Type]
		switch {
		case !ok:
			return 0, nil, fmt.Errorf("linux.namespaces[%d]: unknown namespace type %q", i, ns.Type)
		case seen[ns.Type]:
			return 0, nil, fmt.Errorf("linux.namespaces[%d]: the %s namespace is listed twice", i, ns.Type)
		case ns.Type == specs.UserNamespace:
			return 0, nil, fmt.Errorf("linux.namespaces[%d]: user namespaces are not supported yet", i)
		}
		seen[ns.Type] = true
		if ns.Path != "" {
			if err := checkNSType(ns.Path, ns.Type, flag); err != nil {
				return 0, nil, fmt.Errorf("linux.namespaces[%d]: %w", i, err)
			}
		}
		if !joinable[ns.Type] {
			continue
		}
		if ns.Path != "" {
			joins = append(joins, nsJoin{flag, ns.Path})
		} else {
			flags |= flag
		}
	}
	if spec.Hostname != "" && !seen[specs.UTSNamespace] {
		// The sandbox sets the hostname of its UTS namespace: never the host's.
		return 0, nil, fmt.Errorf("hostname %q needs a uts namespace in linux.namespaces", spec.Hostname)
	}
	return flags, joins, nil
}

// checkNSType checks that path is a namespace of type typ.
func checkNSType(path string, typ specs.LinuxNamespaceType, flag uintptr) error {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("opening %s namespace %s: %w", typ, path, err)
	}
	defer unix.Close(fd)
	got, err := unix.IoctlRetInt(fd, nsGetNSType)
	if err != nil {
		return fmt.Errorf("%s namespace path %s is not a namespace: %w", typ, path, err)
	}
	if uintptr(got) != flag {
		return fmt.Errorf("%s namespace path %s is a %s namespace", typ, path, nsName(uintptr(got)))
	}
	return nil
}

// nsName names a CLONE_NEW* flag.
func nsName(flag uintptr) string {
	for t, f := range nsFlags {
		if f == flag {
			return string(t)
		}
	}
	return fmt.Sprintf("%#x", flag)
}

// startJoined starts cmd after joining joins (and the network namespace
// of np) on a locked thread made for it, which is never unlocked so it
// ends with its goroutine. Without joins it is startIn.
func startJoined(cmd *exec.Cmd, joins []nsJoin, np netPlacement) error {
	if len(joins) == 0 {
		return startIn(cmd, np)
	}
	if !np.own && np.path != "" {
		joins = append(joins, nsJoin{unix.CLONE_NEWNET, np.path})
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		for _, j := range joins {
			if err := setns(j); err != nil {
				errc <- err
				return
			}
		}
		errc <- cmd.Start()
	}()
	return <-errc
}

// setns joins one namespace on the calling thread.
func setns(j nsJoin) error {
	fd, err := unix.Open(j.path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("opening %s namespace %s: %w", nsName(j.flag), j.path, err)
	}
	defer unix.Close(fd)
	if err := unix.Setns(fd, int(j.flag)); err != nil {
		return fmt.Errorf("joining %s namespace %s: %w", nsName(j.flag), j.path, err)
	}
	return nil
}
