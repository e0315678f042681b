// Command runsc is Bulwark's OCI runtime: a drop-in for runc whose
// containers run on a sandbox kernel. See `runsc help`.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"bulwark.dev/runsc/cmd"
	"bulwark.dev/runsc/config"

	"github.com/google/subcommands"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run parses the global flags, validates them and runs the subcommand,
// returning the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	conf := &config.Config{}
	top := flag.NewFlagSet("runsc", flag.ContinueOnError)
	top.SetOutput(stderr)
	conf.RegisterFlags(top)
	version := top.Bool("version", false, "print the version and exit")

	cdr := subcommands.NewCommander(top, "runsc")
	cdr.Output, cdr.Error = stdout, stderr
	cmd.SetOutput(stdout, stderr)
	for _, name := range []string{"root", "debug", "debug-log", "log", "log-format"} {
		cdr.ImportantFlag(name)
	}
	cdr.Register(cdr.HelpCommand(), "")
	cdr.Register(cdr.FlagsCommand(), "")
	cdr.Register(&cmd.VersionCmd{}, "")
	for _, c := range []subcommands.Command{
		&cmd.Create{Conf: conf}, &cmd.Start{Conf: conf}, &cmd.Run{Conf: conf},
		&cmd.State{Conf: conf}, &cmd.Kill{Conf: conf}, &cmd.Delete{Conf: conf},
		&cmd.List{Conf: conf}, &cmd.Wait{Conf: conf},
		&cmd.Exec{Conf: conf}, &cmd.Pause{Conf: conf}, &cmd.Resume{Conf: conf},
	} {
		cdr.Register(c, "container lifecycle")
	}
	cdr.Register(&cmd.PS{Conf: conf}, "observation")
	cdr.Register(&cmd.Events{Conf: conf}, "observation")
	cdr.Register(&cmd.Install{}, "integration")
	cdr.Register(&cmd.Uninstall{}, "integration")
	cdr.Register(&cmd.Spec{Conf: conf}, "helpers")
	cdr.Register(&cmd.Do{Conf: conf}, "helpers")
	cdr.Register(&cmd.Boot{Conf: conf}, "internal (started by runsc itself)")
	cdr.Register(&cmd.Gofer{Conf: conf}, "internal (started by runsc itself)")
	cdr.Register(&cmd.ExecWait{Conf: conf}, "internal (started by runsc itself)")

	if err := top.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return int(subcommands.ExitUsageError)
	}
	if *version {
		cmd.PrintVersion(stdout)
		return 0
	}
	if err := conf.Validate(); err != nil {
		fmt.Fprintf(stderr, "runsc: %v\n", err)
		return int(subcommands.ExitFailure)
	}
	return int(cdr.Execute(context.Background()))
}
