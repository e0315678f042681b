package cmd

import (
	"context"
	"flag"

	"bulwark.dev/runsc/config"
	"bulwark.dev/runsc/container"

	"github.com/google/subcommands"
)

// Kill implements `runsc kill`.
type Kill struct {
	Conf *config.Config

	all bool
}

// Name implements subcommands.Command.
func (*Kill) Name() string { return "kill" }

// Synopsis implements subcommands.Command.
func (*Kill) Synopsis() string { return "send a signal to a container's process" }

// Usage implements subcommands.Command.
func (*Kill) Usage() string {
	return usageWithFlags("kill [flags] <container-id> [SIGNAL]", `
Sends SIGNAL (default SIGTERM) to the container's process, or with --all
to every process in the container. SIGNAL is a number (9), a name with or
without SIG in any case (KILL, SIGKILL, term) or a real-time signal
(RTMIN+3, SIGRTMAX-1).

A running container gets the signal. A created container whose process has
not started yet is ended by a signal that would terminate a process (its
sandbox is destroyed and it becomes "stopped"); other signals (CONT, CHLD,
WINCH, URG, stop signals, 0) do nothing. Any other status is an error:
container "<id>" is not running.

Exit status: 0 sent, 1 error, 2 usage error.
`)
}

// SetFlags implements subcommands.Command.
func (k *Kill) SetFlags(f *flag.FlagSet) {
	f.BoolVar(&k.all, "all", false, "send the signal to every process of the container")
	f.BoolVar(&k.all, "a", false, "short for --all")
}

// Execute implements subcommands.Command.
func (k *Kill) Execute(_ context.Context, f *flag.FlagSet, _ ...any) subcommands.ExitStatus {
	if f.NArg() < 1 || f.NArg() > 2 {
		return usageError(f, "expected a container id and an optional signal, got %d arguments", f.NArg())
	}
	id, sigArg := f.Arg(0), "TERM"
	if f.NArg() == 2 {
		sigArg = f.Arg(1)
	}
	s, err := newSession(k.Conf, id, "kill")
	if err != nil {
		return failEarly(err)
	}
	defer s.close()
	sig, err := parseSignal(sigArg)
	if err != nil {
		return s.fail(err)
	}
	cont, err := container.Load(k.Conf.Root, id)
	if err != nil {
		return s.fail(err)
	}
	if err := cont.Signal(sig, k.all); err != nil {
		return s.fail(err)
	}
	s.log.Printf("sent signal %d to container %q (all: %v)", sig, cont.ID, k.all)
	return subcommands.ExitSuccess
}
