package container

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"testing"

	"bulwark.dev/runsc/console"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func terminalArgs(terminal bool, socket string, stdio []*os.File) Args {
	return Args{ID: "c", Spec: &specs.Spec{Process: &specs.Process{Terminal: terminal}}, ConsoleSocket: socket, Stdio: stdio}
}

func TestTerminalStdioRefusals(t *testing.T) {
	for name, a := range map[string]Args{
		"socket without terminal": terminalArgs(false, "/tmp/x.sock", nil),
		"terminal without socket": terminalArgs(true, "", nil),
	} {
		if _, _, _, err := terminalStdio(a); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// No terminal: the caller's stdio as it is.
	stdio, send, done, err := terminalStdio(terminalArgs(false, "", []*os.File{os.Stdin, os.Stdout, os.Stderr}))
	if err != nil || len(stdio) != 3 || stdio[0] != os.Stdin || send() != nil {
		t.Errorf("no terminal: %v %v", stdio, err)
	}
	done()
}

// With a console socket the container's stdio is a new pty's slave and
// its master goes to the socket.
func TestTerminalStdioConsoleSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "console.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan *os.File, 1)
	go func() {
		c, err := ln.AcceptUnix()
		if err != nil {
			got <- nil
			return
		}
		defer c.Close()
		m, _ := console.ReceiveMaster(c)
		got <- m
	}()
	stdio, send, done, err := terminalStdio(terminalArgs(true, path, nil))
	if err != nil {
		t.Skipf("no ptys: %v", err)
	}
	defer done()
	if len(stdio) != 3 || stdio[0] != stdio[1] || stdio[1] != stdio[2] {
		t.Fatalf("stdio %v: want the slave three times", stdio)
	}
	if err := send(); err != nil {
		t.Fatal(err)
	}
	m := <-got
	if m == nil {
		t.Fatal("no master received")
	}
	defer m.Close()
	m.Write([]byte("typed\n"))
	buf := make([]byte, 16)
	n, err := stdio[0].Read(buf)
	if err != nil || !bytes.HasPrefix(buf[:n], []byte("typed")) {
		t.Errorf("slave read %q %v", buf[:n], err)
	}
}
