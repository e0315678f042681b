package cmd

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"

	"bulwark.dev/runsc/config"
	"bulwark.dev/runsc/container"

	"github.com/google/subcommands"
)

// State implements `runsc state`.
type State struct {
	Conf *config.Config
}

// Name implements subcommands.Command.
func (*State) Name() string { return "state" }

// Synopsis implements subcommands.Command.
func (*State) Synopsis() string { return "print the OCI state of a container as JSON" }

// Usage implements subcommands.Command.
func (*State) Usage() string {
	return usageText("state <container-id>", `
Prints the container's state as runc does: a JSON object with ociVersion,
id, pid (of the sandbox process; 0 once stopped), status (creating,
created, running or stopped), bundle, rootfs, created (RFC 3339 time),
owner and annotations. The status is checked against the real processes:
a container whose sandbox or process has gone is "stopped".

Exit status: 0 printed, 1 error (e.g. no such container), 2 usage error.
`)
}

// SetFlags implements subcommands.Command.
func (*State) SetFlags(*flag.FlagSet) {}

// Execute implements subcommands.Command.
func (c *State) Execute(_ context.Context, f *flag.FlagSet, _ ...any) subcommands.ExitStatus {
	id, ok := oneID(f)
	if !ok {
		return errOneID(f)
	}
	s, err := newSession(c.Conf, id, "state")
	if err != nil {
		return failEarly(err)
	}
	defer s.close()
	cont, err := container.Load(c.Conf.Root, id)
	if err != nil {
		return s.fail(err)
	}
	data, err := json.MarshalIndent(cont.State(), "", "  ")
	if err != nil {
		return s.fail(fmt.Errorf("encoding state of container %q: %w", cont.ID, err))
	}
	fmt.Fprintf(cliStdout, "%s\n", data)
	return subcommands.ExitSuccess
}
