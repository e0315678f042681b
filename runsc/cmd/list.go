package cmd

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"bulwark.dev/runsc/config"
	"bulwark.dev/runsc/container"

	"github.com/google/subcommands"
)

// List implements `runsc list`.
type List struct {
	Conf *config.Config

	format string
	quiet  bool
}

// Name implements subcommands.Command.
func (*List) Name() string { return "list" }

// Synopsis implements subcommands.Command.
func (*List) Synopsis() string { return "list the containers under --root" }

// Usage implements subcommands.Command.
func (*List) Usage() string {
	return usageWithFlags("list [flags]", `
Lists the containers under --root, sorted by id. The table format has
runc's columns: ID PID STATUS BUNDLE CREATED OWNER. --format json prints
a JSON array of the objects "runsc state" prints. --quiet prints only the
ids, one per line.

Exit status: 0 listed, 1 error, 2 usage error.
`)
}

// SetFlags implements subcommands.Command.
func (l *List) SetFlags(f *flag.FlagSet) {
	f.StringVar(&l.format, "format", "table", "output format: table or json")
	f.StringVar(&l.format, "f", "table", "short for --format")
	f.BoolVar(&l.quiet, "quiet", false, "print only the container ids")
	f.BoolVar(&l.quiet, "q", false, "short for --quiet")
}

// Execute implements subcommands.Command.
func (l *List) Execute(_ context.Context, f *flag.FlagSet, _ ...any) subcommands.ExitStatus {
	if f.NArg() != 0 {
		return usageError(f, "takes no arguments, got %d", f.NArg())
	}
	s, err := newSession(l.Conf, "", "list")
	if err != nil {
		return failEarly(err)
	}
	defer s.close()
	cs, err := container.LoadAll(l.Conf.Root)
	if err != nil {
		return s.fail(err)
	}
	states := make([]container.State, len(cs))
	for i, c := range cs {
		states[i] = c.State()
	}
	if err := writeList(cliStdout, states, l.format, l.quiet); err != nil {
		return s.fail(err)
	}
	return subcommands.ExitSuccess
}

// writeList prints states in format ("table" or "json"), or only their ids
// when quiet.
func writeList(w io.Writer, states []container.State, format string, quiet bool) error {
	switch {
	case format != "table" && format != "json":
		return fmt.Errorf("invalid --format %q: must be table or json", format)
	case quiet:
		for _, s := range states {
			fmt.Fprintln(w, s.ID)
		}
		return nil
	case format == "json":
		if states == nil {
			states = []container.State{}
		}
		return json.NewEncoder(w).Encode(states)
	}
	tw := tabwriter.NewWriter(w, 12, 1, 3, ' ', 0)
	fmt.Fprint(tw, "ID\tPID\tSTATUS\tBUNDLE\tCREATED\tOWNER\n")
	for _, s := range states {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\n",
			s.ID, s.Pid, s.Status, s.Bundle, s.Created.Format(time.RFC3339Nano), s.Owner)
	}
	return tw.Flush()
}
