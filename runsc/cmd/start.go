package cmd

import (
	"context"
	"flag"

	"bulwark.dev/runsc/config"
	"bulwark.dev/runsc/container"

	"github.com/google/subcommands"
)

// Start implements `runsc start`.
type Start struct {
	Conf *config.Config
}

// Name implements subcommands.Command.
func (*Start) Name() string { return "start" }

// Synopsis implements subcommands.Command.
func (*Start) Synopsis() string { return "start the process of a created container" }

// Usage implements subcommands.Command.
func (*Start) Usage() string {
	return usageText("start <container-id>", `
Starts the process (process.args of the spec) of a container that
"runsc create" left in the status "created". The container becomes
"running" and stays so until that process exits.

<container-id> may be any prefix that names exactly one container.
Starting a running or stopped container is an error.

Exit status: 0 started, 1 error, 2 usage error.
`)
}

// SetFlags implements subcommands.Command.
func (*Start) SetFlags(*flag.FlagSet) {}

// Execute implements subcommands.Command.
func (c *Start) Execute(_ context.Context, f *flag.FlagSet, _ ...any) subcommands.ExitStatus {
	return onContainer(c.Conf, f, "start", "started", (*container.Container).Start)
}
