package cmd

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"

	"bulwark.dev/pkg/specutils"
	"bulwark.dev/runsc/config"
	"bulwark.dev/runsc/console"
	"bulwark.dev/runsc/container"

	"github.com/google/subcommands"
	"golang.org/x/sys/unix"
)

// Create implements `runsc create`.
type Create struct {
	Conf *config.Config

	bundle        string
	consoleSocket string
	pidFile       string
}

// Name implements subcommands.Command.
func (*Create) Name() string { return "create" }

// Synopsis implements subcommands.Command.
func (*Create) Synopsis() string { return "create a container from an OCI bundle, without starting it" }

// Usage implements subcommands.Command.
func (*Create) Usage() string {
	return usageWithFlags("create [flags] <container-id>", `
Creates the container <container-id> from the OCI bundle named by --bundle:
reads and checks <bundle>/config.json, starts the gofer and the sandbox,
builds the sandbox kernel and mounts the root filesystem. The container's
process is not started: that is "runsc start". Afterwards "runsc state"
reports the status "created" and the sandbox process's pid.

<container-id> must be unique under --root and consist of the characters
A-Z a-z 0-9 _ + - . (not "." or ".."). On any error nothing is left behind.

With process.terminal true, --console-socket is required: runsc makes a
pty, gives its slave to the container as stdin, stdout and stderr, and
sends the master over that unix socket as runc does (one message, the fd
in SCM_RIGHTS).

Exit status: 0 created, 1 error, 2 usage error.
`)
}

// SetFlags implements subcommands.Command.
func (c *Create) SetFlags(f *flag.FlagSet) {
	bundleFlags(f, &c.bundle, &c.consoleSocket, &c.pidFile)
}

// Execute implements subcommands.Command.
func (c *Create) Execute(_ context.Context, f *flag.FlagSet, _ ...any) subcommands.ExitStatus {
	id, ok := oneID(f)
	if !ok {
		return errOneID(f)
	}
	s, err := newSession(c.Conf, id, "create")
	if err != nil {
		return failEarly(err)
	}
	defer s.close()
	in := catchInterrupts()
	defer in.release()
	cont, _, err := createContainer(c.Conf, id, c.bundle, c.consoleSocket, c.pidFile, false)
	if err != nil {
		return s.fail(fmt.Errorf("creating container %q: %w", id, err))
	}
	if sig, ok := in.pending(); ok {
		cont.Delete(true)
		return s.fail(fmt.Errorf("creating container %q: interrupted by %s", id, unix.SignalName(sig)))
	}
	s.log.Printf("created container %q, sandbox pid %d", id, cont.Pid())
	return subcommands.ExitSuccess
}

// bundleFlags defines the flags create and run share.
func bundleFlags(f *flag.FlagSet, bundle, consoleSocket, pidFile *string) {
	f.StringVar(bundle, "bundle", ".", "path to the OCI bundle: the directory holding config.json")
	f.StringVar(bundle, "b", ".", "short for --bundle")
	f.StringVar(consoleSocket, "console-socket", "", "unix socket to send the pseudo-terminal's master fd to, for process.terminal")
	f.StringVar(pidFile, "pid-file", "", "file to write the sandbox process's pid to, once created")
}

// createContainer loads the bundle's spec and creates the container. With
// process.terminal and no console socket, a foreground run (foreground)
// joins the container's new terminal to runsc's own stdio with a relay,
// which the caller closes once the container is gone; otherwise the relay
// is nil.
func createContainer(conf *config.Config, id, bundle, consoleSocket, pidFile string, foreground bool) (*container.Container, *console.Relay, error) {
	if err := container.ValidateID(id); err != nil {
		return nil, nil, err
	}
	spec, err := specutils.LoadSpec(bundle)
	if err != nil {
		return nil, nil, err
	}
	args := container.Args{
		ID:            id,
		Spec:          spec,
		BundleDir:     bundle,
		ConsoleSocket: consoleSocket,
		PIDFile:       pidFile,
	}
	var relay *console.Relay
	if spec.Process.Terminal && consoleSocket == "" {
		if !foreground {
			return nil, nil, errors.New("process.terminal is true but no --console-socket was given: a detached container needs one to hand its terminal to")
		}
		r, slave, err := console.Attach(os.Stdin, os.Stdout)
		if err != nil {
			return nil, nil, err
		}
		defer slave.Close() // the sandbox holds its own once created
		relay = r
		args.Stdio = []*os.File{slave, slave, slave}
	}
	cont, err := container.New(conf, args)
	if err != nil {
		if relay != nil {
			relay.Restore()
		}
		return nil, nil, err
	}
	return cont, relay, nil
}
