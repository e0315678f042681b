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

// Wait implements `runsc wait`.
type Wait struct {
	Conf *config.Config
}

// Name implements subcommands.Command.
func (*Wait) Name() string { return "wait" }

// Synopsis implements subcommands.Command.
func (*Wait) Synopsis() string { return "wait for a container's process to exit and print its status" }

// Usage implements subcommands.Command.
func (*Wait) Usage() string {
	return usageText("wait <container-id>", `
Blocks until the container's process has exited (at once if it already
has) and prints {"id":"<container-id>","exitStatus":N}, where N is the
status as a shell reports it: the exit code, or 128+signal for a process
killed by a signal (137 for SIGKILL). runsc itself then exits 0.

Exit status: 0 waited, 1 error, 2 usage error.
`)
}

// SetFlags implements subcommands.Command.
func (*Wait) SetFlags(*flag.FlagSet) {}

// waitResult is what `runsc wait` prints.
type waitResult struct {
	ID         string `json:"id"`
	ExitStatus int    `json:"exitStatus"`
}

// Execute implements subcommands.Command.
func (w *Wait) Execute(_ context.Context, f *flag.FlagSet, _ ...any) subcommands.ExitStatus {
	id, ok := oneID(f)
	if !ok {
		return errOneID(f)
	}
	s, err := newSession(w.Conf, id, "wait")
	if err != nil {
		return failEarly(err)
	}
	defer s.close()
	cont, err := container.Load(w.Conf.Root, id)
	if err != nil {
		return s.fail(err)
	}
	status, err := cont.Wait()
	if err != nil {
		return s.fail(err)
	}
	data, _ := json.Marshal(waitResult{ID: cont.ID, ExitStatus: status})
	fmt.Fprintf(cliStdout, "%s\n", data)
	return subcommands.ExitSuccess
}
