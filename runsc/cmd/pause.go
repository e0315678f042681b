package cmd

import (
	"context"
	"flag"

	"bulwark.dev/runsc/config"
	"bulwark.dev/runsc/container"

	"github.com/google/subcommands"
)

// Pause implements `runsc pause`.
type Pause struct {
	Conf *config.Config
}

// Name implements subcommands.Command.
func (*Pause) Name() string { return "pause" }

// Synopsis implements subcommands.Command.
func (*Pause) Synopsis() string { return "freeze every process of a running container" }

// Usage implements subcommands.Command.
func (*Pause) Usage() string {
	return usageText("pause <container-id>", `
Freezes every process of a running container, which becomes "paused":
no application code runs until "runsc resume". Time and timers go on;
signals sent meanwhile (runsc kill) stay pending and are delivered on
resume, except SIGKILL, which kills a frozen process at once (like Linux's
cgroup freezer), so "runsc kill <id> KILL" and "runsc delete --force"
work on a paused container. "runsc exec" into a paused container is
refused unless --ignore-paused.

Pausing a container that is not running (created, paused, stopped) is an
error.

Exit status: 0 paused, 1 error, 2 usage error.
`)
}

// SetFlags implements subcommands.Command.
func (*Pause) SetFlags(*flag.FlagSet) {}

// Execute implements subcommands.Command.
func (c *Pause) Execute(_ context.Context, f *flag.FlagSet, _ ...any) subcommands.ExitStatus {
	return onContainer(c.Conf, f, "pause", "paused", (*container.Container).Pause)
}
