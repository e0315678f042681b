package cmd

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	"bulwark.dev/boot"
	"bulwark.dev/runsc/config"

	"github.com/google/subcommands"
)

// Boot is the internal `runsc boot` subcommand: the sandbox process that
// sandbox/ starts for each sandbox. It runs the kernel and serves the
// control socket.
type Boot struct {
	Conf *config.Config // global flags, filled in by main

	id           string
	bundle       string
	specFD       int
	controllerFD int
	exitFD       int
	stdioFDs     string
	ioFDs        string
}

// Name implements subcommands.Command.
func (*Boot) Name() string { return "boot" }

// Synopsis implements subcommands.Command.
func (*Boot) Synopsis() string {
	return "run a sandbox's kernel (internal, started by runsc)"
}

// Usage implements subcommands.Command.
func (*Boot) Usage() string {
	return `boot --id ID --bundle DIR --spec-fd N --controller-fd N --exit-fd N --stdio-fds I,O,E --io-fds A,B,...

Internal command, started by "runsc create" in new mount, pid, ipc, uts and
net namespaces, after the gofer. It reads the OCI spec from the spec fd,
starts the platform, moves itself into an empty root where no host path
resolves, builds the kernel and mounts the container's filesystems: the root
and every bind mount through the gofer connections (the io fds: root first,
then bind mounts in spec order), proc, /dev and tmpfs mounts in memory.

It then serves the control socket (the listening unix socket at the
controller fd) until the container's init exits; it records the init's
status in the exit file ({"status":N}) and exits with that status (the exit
code, or 128+signal). The stdio fds become the init's fds 0, 1 and 2.

`
}

// SetFlags implements subcommands.Command.
func (b *Boot) SetFlags(f *flag.FlagSet) {
	f.StringVar(&b.id, "id", "", "sandbox (container) id")
	f.StringVar(&b.bundle, "bundle", "", "path to the bundle directory")
	f.IntVar(&b.specFD, "spec-fd", -1, "fd to read the OCI spec (config.json) from")
	f.IntVar(&b.controllerFD, "controller-fd", -1, "fd of the listening control socket")
	f.IntVar(&b.exitFD, "exit-fd", -1, "fd of the file to record the init's exit status in")
	f.StringVar(&b.stdioFDs, "stdio-fds", "0,1,2", "comma-separated fds of the container's stdin, stdout and stderr")
	f.StringVar(&b.ioFDs, "io-fds", "", "comma-separated fds of the gofer connections: root, then bind mounts")
}

// Execute implements subcommands.Command. The exit status is the init's.
func (b *Boot) Execute(_ context.Context, f *flag.FlagSet, _ ...any) subcommands.ExitStatus {
	args, err := b.args(f)
	if err == nil {
		var code int
		code, err = boot.Run(args)
		if err == nil {
			return subcommands.ExitStatus(code)
		}
	}
	fmt.Fprintf(os.Stderr, "runsc boot: %v\n", err)
	return subcommands.ExitFailure
}

// args checks the flags and turns them into boot.Args.
func (b *Boot) args(f *flag.FlagSet) (boot.Args, error) {
	if f.NArg() != 0 {
		return boot.Args{}, fmt.Errorf("unexpected arguments %q", f.Args())
	}
	if b.id == "" {
		return boot.Args{}, fmt.Errorf("--id is required")
	}
	for _, fd := range []struct {
		name string
		v    int
	}{{"spec-fd", b.specFD}, {"controller-fd", b.controllerFD}, {"exit-fd", b.exitFD}} {
		if fd.v < 0 {
			return boot.Args{}, fmt.Errorf("--%s is required", fd.name)
		}
	}
	stdio, err := bootParseFDs("stdio-fds", b.stdioFDs)
	if err != nil {
		return boot.Args{}, err
	}
	if len(stdio) != 3 {
		return boot.Args{}, fmt.Errorf("--stdio-fds needs 3 fds (stdin, stdout, stderr), got %d", len(stdio))
	}
	io, err := bootParseFDs("io-fds", b.ioFDs)
	if err != nil {
		return boot.Args{}, err
	}
	conf := b.Conf
	if conf == nil {
		conf = &config.Config{LogFormat: "text", Platform: "ptrace", Overlay: true}
	}
	return boot.Args{
		ID:           b.id,
		BundleDir:    b.bundle,
		Conf:         conf,
		SpecFD:       b.specFD,
		ControllerFD: b.controllerFD,
		ExitFD:       b.exitFD,
		StdioFDs:     stdio,
		IOFDs:        io,
	}, nil
}

// bootParseFDs parses a comma-separated list of fd numbers.
func bootParseFDs(name, s string) ([]int, error) {
	if s == "" {
		return nil, fmt.Errorf("--%s is required", name)
	}
	var fds []int
	for _, p := range strings.Split(s, ",") {
		fd, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || fd < 0 {
			return nil, fmt.Errorf("invalid --%s %q: %q is not an fd number", name, s, p)
		}
		fds = append(fds, fd)
	}
	return fds, nil
}
