// Package cmd holds runsc's subcommands, one file each (google/subcommands);
// they parse flags and call into the packages that do the work.
package cmd

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	"bulwark.dev/gofer"
	"bulwark.dev/runsc/config"

	"github.com/google/subcommands"
)

// Gofer is the internal `runsc gofer` subcommand: the file server process
// that sandbox/ starts for each container.
type Gofer struct {
	Conf *config.Config // global flags, filled in by main

	id             string
	bundle         string
	specFD         int
	ioFDs          string
	mountsReadOnly bool
}

// Name implements subcommands.Command.
func (*Gofer) Name() string { return "gofer" }

// Synopsis implements subcommands.Command.
func (*Gofer) Synopsis() string {
	return "serve a container's files to its sandbox (internal, started by runsc)"
}

// Usage implements subcommands.Command.
func (*Gofer) Usage() string {
	return `gofer --id ID --bundle DIR --spec-fd N --io-fds A,B,... [--mounts-readonly]

Internal command, started by "runsc create" in new mount, pid, ipc, uts and
net namespaces. It reads the OCI spec from fd N, opens the root filesystem
(root.path, relative to the bundle) and every bind mount of the spec, confines
itself to an empty root, and serves them to the sandbox over the io fds, one
connected SOCK_SEQPACKET socket per filesystem: the root first, then the bind
mounts in spec order. It never follows a symlink on the host. It exits 0 once
the sandbox has closed every connection.

`
}

// SetFlags implements subcommands.Command.
func (g *Gofer) SetFlags(f *flag.FlagSet) {
	f.StringVar(&g.id, "id", "", "container id (names the debug log)")
	f.StringVar(&g.bundle, "bundle", "", "path to the bundle directory")
	f.IntVar(&g.specFD, "spec-fd", -1, "fd to read the OCI spec (config.json) from")
	f.StringVar(&g.ioFDs, "io-fds", "", "comma-separated fds of the connections to serve: root, then bind mounts")
	f.BoolVar(&g.mountsReadOnly, "mounts-readonly", false, "serve every filesystem read-only")
}

// Execute implements subcommands.Command.
func (g *Gofer) Execute(_ context.Context, f *flag.FlagSet, _ ...any) subcommands.ExitStatus {
	if err := g.execute(f); err != nil {
		fmt.Fprintf(os.Stderr, "runsc gofer: %v\n", err)
		return subcommands.ExitFailure
	}
	return subcommands.ExitSuccess
}

func (g *Gofer) execute(f *flag.FlagSet) error {
	if f.NArg() != 0 {
		return fmt.Errorf("unexpected arguments %q", f.Args())
	}
	if g.bundle == "" {
		return fmt.Errorf("--bundle is required")
	}
	if g.specFD < 0 {
		return fmt.Errorf("--spec-fd is required")
	}
	fds, err := goferParseFDs(g.ioFDs)
	if err != nil {
		return err
	}
	conf := g.Conf
	if conf == nil {
		conf = &config.Config{LogFormat: "text"}
	}
	return gofer.Run(gofer.Args{
		ID:        g.id,
		BundleDir: g.bundle,
		SpecFD:    g.specFD,
		IOFDs:     fds,
		ReadOnly:  g.mountsReadOnly,
		Conf:      conf,
	})
}

// goferParseFDs parses --io-fds.
func goferParseFDs(s string) ([]int, error) {
	if s == "" {
		return nil, fmt.Errorf("--io-fds is required")
	}
	var fds []int
	for _, p := range strings.Split(s, ",") {
		fd, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || fd < 0 {
			return nil, fmt.Errorf("invalid --io-fds %q: %q is not an fd number", s, p)
		}
		fds = append(fds, fd)
	}
	return fds, nil
}
