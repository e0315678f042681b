package cmd

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"bulwark.dev/runsc/config"
	"bulwark.dev/runsc/container"

	"github.com/google/subcommands"
	"golang.org/x/sys/unix"
)

// Run implements `runsc run`.
type Run struct {
	Conf *config.Config

	bundle        string
	consoleSocket string
	pidFile       string
	detach        bool
}

// Name implements subcommands.Command.
func (*Run) Name() string { return "run" }

// Synopsis implements subcommands.Command.
func (*Run) Synopsis() string { return "create and start a container, and wait for it" }

// Usage implements subcommands.Command.
func (*Run) Usage() string {
	return usageWithFlags("run [flags] <container-id>", `
Creates the container <container-id> from the OCI bundle named by --bundle
and starts its process, as "runsc create" then "runsc start" would.

In the foreground (the default) runsc then waits for the process, passes
the signals it receives (INT, TERM, HUP, QUIT, USR1, USR2) on to it,
deletes the container once the process has exited, and exits with the
process's status: its exit code, or 128+signal if a signal killed it (137
for SIGKILL). With --detach runsc returns as soon as the process started
and the container stays until "runsc delete".

With process.terminal the container gets a new terminal (pty): its master
goes to --console-socket as with "runsc create"; in the foreground without
one, runsc joins it to its own stdin and stdout, with the caller's terminal
in raw mode meanwhile (so ^C, ^Z and the window size reach the container)
and restored at the end.

Exit status: the process's status in the foreground; with --detach 0 once
started. 1 error, 2 usage error.
`)
}

// SetFlags implements subcommands.Command.
func (r *Run) SetFlags(f *flag.FlagSet) {
	bundleFlags(f, &r.bundle, &r.consoleSocket, &r.pidFile)
	f.BoolVar(&r.detach, "detach", false, "return once the container's process has started; do not wait for it")
	f.BoolVar(&r.detach, "d", false, "short for --detach")
}

// Execute implements subcommands.Command.
func (r *Run) Execute(_ context.Context, f *flag.FlagSet, _ ...any) subcommands.ExitStatus {
	id, ok := oneID(f)
	if !ok {
		return errOneID(f)
	}
	s, err := newSession(r.Conf, id, "run")
	if err != nil {
		return failEarly(err)
	}
	defer s.close()
	in := catchInterrupts()
	defer in.release()
	cont, relay, err := createContainer(r.Conf, id, r.bundle, r.consoleSocket, r.pidFile, !r.detach)
	if err != nil {
		return s.fail(fmt.Errorf("creating container %q: %w", id, err))
	}
	s.log.Printf("created container %q, sandbox pid %d", id, cont.Pid())
	if r.detach {
		if err := cont.Start(); err != nil {
			cont.Delete(true)
			return s.fail(err)
		}
		return subcommands.ExitSuccess
	}
	if relay != nil {
		// Once the container is deleted: its last output, then the
		// caller's terminal settings back, before any error is printed.
		return runForegroundThen(s, in, cont, relay.Close)
	}
	return runForeground(s, in, cont)
}

// runForeground starts cont, relays signals to it until its process exits,
// deletes it and returns the process's status.
func runForeground(s *session, in *interrupts, cont *container.Container) subcommands.ExitStatus {
	return runForegroundThen(s, in, cont, func() {})
}

// runForegroundThen is runForeground calling gone once cont is deleted.
func runForegroundThen(s *session, in *interrupts, cont *container.Container, gone func()) subcommands.ExitStatus {
	if sig, ok := in.pending(); ok {
		s.log.Printf("interrupted by %s before the start", unix.SignalName(sig))
		cont.Delete(true)
		gone()
		return subcommands.ExitStatus(128 + int(sig))
	}
	in.relay(cont, s.log)
	if err := cont.Start(); err != nil {
		cont.Delete(true)
		gone()
		return s.fail(err)
	}
	status, err := cont.Wait()
	in.release()
	// Someone may have deleted it meanwhile (`runsc delete --force`).
	if derr := cont.Delete(true); derr != nil && err == nil && !errors.Is(derr, container.ErrNotExist) {
		err = derr
	}
	gone()
	if err != nil {
		return s.fail(err)
	}
	s.log.Printf("container %q exited with status %d", cont.ID, status)
	return subcommands.ExitStatus(status)
}
