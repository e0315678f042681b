package cmd

import (
	"errors"
	"fmt"
	"os"

	"bulwark.dev/runsc/console"

	"golang.org/x/sys/unix"
)

// execTerminal is the terminal of `runsc exec -t`: a new host pty whose
// slave is the process's stdin, stdout and stderr. With --console-socket
// the master goes to the socket (as runc does); in the foreground without
// one, a relay joins it to runsc's own stdio (the caller's terminal).
//
// The slave is put on runsc's own fds 0, 1 and 2 while the process is
// started, so the exec code hands it over exactly as it hands over runsc's
// stdio (directly, or through a detached runsc exec-wait); restore puts
// the caller's stdio back once the sandbox holds its copies.
type execTerminal struct {
	saved [3]int         // the caller's fds 0, 1, 2
	relay *console.Relay // foreground without a console socket; nil otherwise
}

// useExecTerminal sets up the terminal when the process asks for one
// (terminal) and returns nil when it does not.
func useExecTerminal(terminal bool, consoleSocket string, detach bool) (*execTerminal, error) {
	switch {
	case !terminal && consoleSocket != "":
		return nil, errors.New("exec: --console-socket needs a terminal (-t, or terminal in --process)")
	case !terminal:
		return nil, nil
	case consoleSocket == "" && detach:
		return nil, errors.New("exec: a detached process with a terminal needs --console-socket to hand the terminal to")
	}
	t := &execTerminal{saved: [3]int{-1, -1, -1}}
	for fd := range 3 {
		s, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 3)
		if err != nil {
			t.closeSaved()
			return nil, fmt.Errorf("exec: saving fd %d: %w", fd, err)
		}
		t.saved[fd] = s
	}
	var slave *os.File
	if consoleSocket != "" {
		master, s, err := console.NewPty()
		if err != nil {
			t.closeSaved()
			return nil, err
		}
		err = console.SendMaster(consoleSocket, master)
		master.Close()
		if err != nil {
			s.Close()
			t.closeSaved()
			return nil, err
		}
		slave = s
	} else {
		in := os.NewFile(uintptr(t.saved[0]), "caller-stdin")
		out := os.NewFile(uintptr(t.saved[1]), "caller-stdout")
		r, s, err := console.Attach(in, out)
		if err != nil {
			t.closeSaved()
			return nil, err
		}
		t.relay, slave = r, s
	}
	defer slave.Close()
	for fd := range 3 {
		if err := unix.Dup3(int(slave.Fd()), fd, 0); err != nil {
			t.restore()
			if t.relay != nil {
				t.relay.Restore()
			}
			return nil, fmt.Errorf("exec: putting the terminal on fd %d: %w", fd, err)
		}
	}
	return t, nil
}

// restore puts the caller's stdio back on fds 0, 1, 2. The relay (if any)
// keeps running until finish.
func (t *execTerminal) restore() {
	if t == nil {
		return
	}
	for fd, s := range t.saved {
		if s >= 0 {
			unix.Dup3(s, fd, 0)
		}
	}
}

// finish waits for the last output and restores the caller's terminal
// settings once the process is gone. It may be called again.
func (t *execTerminal) finish() {
	if t == nil {
		return
	}
	t.restore()
	if t.relay != nil {
		t.relay.Close()
		t.relay = nil
	}
}

// closeSaved closes the saved copies after a failed setup.
func (t *execTerminal) closeSaved() {
	for i, s := range t.saved {
		if s >= 0 {
			unix.Close(s)
			t.saved[i] = -1
		}
	}
}
