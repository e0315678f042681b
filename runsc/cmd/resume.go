package cmd

import (
	"context"
	"flag"

	"bulwark.dev/runsc/config"
	"bulwark.dev/runsc/container"

	"github.com/google/subcommands"
)

// Resume implements `runsc resume`.
type Resume struct {
	Conf *config.Config
}

// Name implements subcommands.Command.
func (*Resume) Name() string { return "resume" }

// Synopsis implements subcommands.Command.
func (*Resume) Synopsis() string { return "thaw the processes of a paused container" }

// Usage implements subcommands.Command.
func (*Resume) Usage() string {
	return usageText("resume <container-id>", `
Lets the processes of a container frozen by "runsc pause" run again; it
is "running" once more, and the signals sent while it was paused are
delivered now.

Resuming a container that is not paused is an error.

Exit status: 0 resumed, 1 error, 2 usage error.
`)
}

// SetFlags implements subcommands.Command.
func (*Resume) SetFlags(*flag.FlagSet) {}

// Execute implements subcommands.Command.
func (c *Resume) Execute(_ context.Context, f *flag.FlagSet, _ ...any) subcommands.ExitStatus {
	return onContainer(c.Conf, f, "resume", "resumed", (*container.Container).Resume)
}
