package cmd

import (
	"context"
	"errors"
	"flag"

	"bulwark.dev/runsc/config"
	"bulwark.dev/runsc/container"

	"github.com/google/subcommands"
)

// Delete implements `runsc delete`.
type Delete struct {
	Conf *config.Config

	force bool
}

// Name implements subcommands.Command.
func (*Delete) Name() string { return "delete" }

// Synopsis implements subcommands.Command.
func (*Delete) Synopsis() string { return "delete a container and everything it holds" }

// Usage implements subcommands.Command.
func (*Delete) Usage() string {
	return usageWithFlags("delete [flags] <container-id>", `
Deletes a created or stopped container: its sandbox and gofer processes
are killed and reaped and its state directory under --root is removed.

A running container is refused unless --force, which kills all of its
processes first. Like runc, --force also succeeds, doing nothing, when no
such container exists; without it that is an error.

Exit status: 0 deleted, 1 error, 2 usage error.
`)
}

// SetFlags implements subcommands.Command.
func (d *Delete) SetFlags(f *flag.FlagSet) {
	f.BoolVar(&d.force, "force", false, "kill a running container before deleting it")
	f.BoolVar(&d.force, "f", false, "short for --force")
}

// Execute implements subcommands.Command.
func (d *Delete) Execute(_ context.Context, f *flag.FlagSet, _ ...any) subcommands.ExitStatus {
	id, ok := oneID(f)
	if !ok {
		return errOneID(f)
	}
	s, err := newSession(d.Conf, id, "delete")
	if err != nil {
		return failEarly(err)
	}
	defer s.close()
	cont, err := container.Load(d.Conf.Root, id)
	if err == nil {
		err = cont.Delete(d.force)
	}
	switch {
	case d.force && errors.Is(err, container.ErrNotExist):
		s.log.Printf("container %q does not exist; nothing to delete", id)
	case err != nil:
		return s.fail(err)
	default:
		s.log.Printf("deleted container %q", cont.ID)
	}
	return subcommands.ExitSuccess
}
