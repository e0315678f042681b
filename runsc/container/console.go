package container

import (
	"errors"
	"fmt"
	"os"

	"bulwark.dev/runsc/console"
)

// terminalStdio resolves the container's stdio for process.terminal: with
// a console socket, a new pty whose slave is the container's stdin, stdout
// and stderr and whose master goes to the socket once the sandbox holds
// the slave (send); without one, the caller must have made the terminal
// (args.Stdio, e.g. a console.Relay's slave). close releases runsc's
// copies once the sandbox holds its own.
func terminalStdio(args Args) (stdio []*os.File, send func() error, close func(), err error) {
	nothing := func() {}
	none := func() error { return nil }
	terminal := args.Spec.Process != nil && args.Spec.Process.Terminal
	switch {
	case !terminal && args.ConsoleSocket != "":
		return nil, nil, nil, errors.New("--console-socket was given but process.terminal is false")
	case !terminal:
		return args.Stdio, none, nothing, nil
	case args.ConsoleSocket == "" && args.Stdio == nil:
		return nil, nil, nil, errors.New("process.terminal is true but no --console-socket was given (only a foreground \"runsc run\" can use runsc's own terminal)")
	case args.ConsoleSocket == "":
		return args.Stdio, none, nothing, nil
	}
	master, slave, err := console.NewPty()
	if err != nil {
		return nil, nil, nil, fmt.Errorf("creating the container's terminal: %w", err)
	}
	send = func() error { return console.SendMaster(args.ConsoleSocket, master) }
	close = func() {
		master.Close()
		slave.Close()
	}
	return []*os.File{slave, slave, slave}, send, close, nil
}
