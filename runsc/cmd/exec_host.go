package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"syscall"

	"bulwark.dev/pkg/fs/host"
	"bulwark.dev/runsc/config"
	"bulwark.dev/runsc/container"
	"bulwark.dev/sandbox"

	"github.com/google/subcommands"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// The host side of an exec: the process that stands for the exec'd one
// (runsc exec in the foreground, or its detached runsc exec-wait). It
// catches the signals it may forward before the process starts, starts it
// with its own stdio, forwards signals until it exits and exits with its
// status.

// maxPreservedFDs is the most --preserve-fds: stdio, the preserved fds
// and the liveness pipe travel in one control message of at most 16 fds.
const maxPreservedFDs = 12

// unforwarded are the signals a waiting runsc exec does not pass on: those
// it cannot catch, SIGCHLD (its own children), SIGPIPE (its own writes)
// and SIGURG (Go's preemption).
var unforwarded = map[syscall.Signal]bool{
	unix.SIGKILL: true, unix.SIGSTOP: true, unix.SIGCHLD: true, unix.SIGPIPE: true, unix.SIGURG: true,
}

// forwardedSignals lists the signals a waiting runsc exec passes on: every
// standard one but unforwarded, and the real-time ones.
func forwardedSignals() []os.Signal {
	var sigs []os.Signal
	for sig := syscall.Signal(1); sig <= sigRTMax; sig++ {
		if (sig > 31 && sig < sigRTMin) || unforwarded[sig] {
			continue
		}
		sigs = append(sigs, sig)
	}
	return sigs
}

// forwarder holds the signals received since catchForwarded.
type forwarder struct{ ch chan os.Signal }

// catchForwarded starts catching the forwarded signals; they are queued
// until waitForwarding passes them on.
func catchForwarded() *forwarder {
	f := &forwarder{ch: make(chan os.Signal, 64)}
	signal.Notify(f.ch, forwardedSignals()...)
	return f
}

// release stops catching signals.
func (f *forwarder) release() { signal.Stop(f.ch) }

// waitForwarding waits for proc to exit, passing every caught signal on to
// it (with terminal, to the foreground group of its terminal, where ^C and
// the like belong), and returns its status.
func (f *forwarder) waitForwarding(proc *sandbox.Process, terminal bool, l *log.Logger) (int, error) {
	send := proc.Signal
	if terminal {
		send = proc.SignalForeground
	}
	type result struct {
		status int
		err    error
	}
	done := make(chan result, 1)
	go func() {
		st, err := proc.Wait()
		done <- result{st, err}
	}()
	for {
		select {
		case r := <-done:
			return r.status, r.err
		case s := <-f.ch:
			sig := s.(syscall.Signal)
			if err := send(int(sig)); err != nil {
				l.Printf("forwarding %v to pid %d: %v", sig, proc.PID, err)
			} else {
				l.Printf("forwarded %v to pid %d", sig, proc.PID)
			}
		}
	}
}

// startExec starts p in cont with this process's stdio and preserve more
// fds (3 on).
func startExec(cont *container.Container, p *specs.Process, preserve int, ignorePaused bool) (*sandbox.Process, error) {
	files, err := execFiles(preserve)
	if err != nil {
		return nil, err
	}
	defer closeFiles(files)
	return cont.Exec(p, files, ignorePaused)
}

// execFiles chooses the files the exec'd process gets as fds 0, 1, 2 and
// 3..3+preserve-1. This is where a terminal will plug in (-t: the pty's
// slave for 0, 1, 2). Stdio pipes and ttys are reopened (host.Reopen) so
// the sandbox gets descriptions of its own, on which it may set
// O_NONBLOCK without the caller seeing it; what cannot be reopened
// (sockets, regular files) is passed as a duplicate whose flags the
// sandbox never changes.
func execFiles(preserve int) ([]*os.File, error) {
	var files []*os.File
	for fd := 0; fd < 3+preserve; fd++ {
		nfd, err := -1, error(nil)
		if fd < 3 {
			nfd, err = host.Reopen(fd)
		}
		if fd >= 3 || err != nil {
			nfd, err = unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
		}
		if err != nil {
			closeFiles(files)
			return nil, fmt.Errorf("exec: fd %d: %w", fd, err)
		}
		files = append(files, os.NewFile(uintptr(nfd), "exec-fd-"+strconv.Itoa(fd)))
	}
	return files, nil
}

func closeFiles(files []*os.File) {
	for _, f := range files {
		f.Close()
	}
}

func ownPid() int { return os.Getpid() }

// execWaitStatusOK starts the message of a detached waiter whose process
// runs; anything else it writes is an error.
const execWaitStatusOK = "ok"

// spawnExecWaiter starts `runsc exec-wait` in a new session to exec p in
// container id and stand for it, and returns its pid once the process
// runs. The waiter inherits this process's stdio and preserved fds; p goes
// through a pipe.
func spawnExecWaiter(conf *config.Config, id string, p *specs.Process, preserve int, ignorePaused bool) (int, error) {
	data, err := json.Marshal(p)
	if err != nil {
		return 0, fmt.Errorf("exec: encoding the process: %w", err)
	}
	exe, err := os.Executable()
	if err != nil {
		return 0, fmt.Errorf("exec: finding runsc: %w", err)
	}
	statusR, statusW, err := os.Pipe()
	if err != nil {
		return 0, fmt.Errorf("exec: %w", err)
	}
	defer statusR.Close()
	procR, procW, err := os.Pipe()
	if err != nil {
		statusW.Close()
		return 0, fmt.Errorf("exec: %w", err)
	}
	defer procW.Close()
	var extra []*os.File
	for fd := 3; fd < 3+preserve; fd++ {
		extra = append(extra, os.NewFile(uintptr(fd), "preserved-"+strconv.Itoa(fd)))
	}
	extra = append(extra, statusW, procR)
	args := append(conf.ToFlags(), "exec-wait",
		"--status-fd="+strconv.Itoa(3+preserve), "--process-fd="+strconv.Itoa(4+preserve),
		"--preserve-fds="+strconv.Itoa(preserve), "--ignore-paused="+strconv.FormatBool(ignorePaused), id)
	cmd := exec.Command(exe, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.ExtraFiles = extra
	// With a terminal, its slave is the waiter's stdin: the waiter makes it
	// its own controlling terminal, so the host sends it the signals of
	// the keyboard (^C, ^\, ^Z), window-size changes and the hang-up, which
	// it passes on to the terminal's foreground group in the sandbox. (The
	// sandbox process can hold only one host controlling terminal: the
	// container's own, when it has one.)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: p.Terminal, Ctty: 0}
	err = cmd.Start()
	statusW.Close()
	procR.Close()
	if err != nil {
		return 0, fmt.Errorf("exec: starting runsc exec-wait: %w", err)
	}
	if _, err := procW.Write(data); err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return 0, fmt.Errorf("exec: passing the process to runsc exec-wait: %w", err)
	}
	procW.Close()
	msg, _ := io.ReadAll(statusR)
	if !bytes.Equal(msg, []byte(execWaitStatusOK)) {
		cmd.Wait()
		if len(msg) == 0 {
			return 0, errors.New("exec: runsc exec-wait died before starting the process")
		}
		return 0, errors.New(string(msg))
	}
	pid := cmd.Process.Pid
	cmd.Process.Release()
	return pid, nil
}

// ExecWait implements the internal `runsc exec-wait`, the detached host
// process of `runsc exec --detach`.
type ExecWait struct {
	Conf *config.Config

	statusFD     int
	processFD    int
	preserveFDs  int
	ignorePaused bool
}

// Name implements subcommands.Command.
func (*ExecWait) Name() string { return "exec-wait" }

// Synopsis implements subcommands.Command.
func (*ExecWait) Synopsis() string {
	return "internal: the host process standing for a detached exec"
}

// Usage implements subcommands.Command.
func (*ExecWait) Usage() string {
	return usageWithFlags("exec-wait [flags] <container-id>", `
Started by "runsc exec --detach", never by hand. Reads the process to run
(JSON) from --process-fd, starts it in the container with its own stdio
and fds 3..3+N-1 (--preserve-fds), writes "ok" or an error to --status-fd
and closes it, then lets go of its stdio, forwards the signals it
receives to the process and exits with the process's status.
`)
}

// SetFlags implements subcommands.Command.
func (w *ExecWait) SetFlags(f *flag.FlagSet) {
	f.IntVar(&w.statusFD, "status-fd", -1, "fd to report the start on")
	f.IntVar(&w.processFD, "process-fd", -1, "fd to read the process JSON from")
	f.IntVar(&w.preserveFDs, "preserve-fds", 0, "fds 3..3+N-1 go to the process")
	f.BoolVar(&w.ignorePaused, "ignore-paused", false, "exec even if the container is paused")
}

// Execute implements subcommands.Command.
func (w *ExecWait) Execute(_ context.Context, f *flag.FlagSet, _ ...any) subcommands.ExitStatus {
	id, ok := oneID(f)
	if !ok {
		return errOneID(f)
	}
	if w.statusFD < 0 || w.processFD < 0 || w.preserveFDs < 0 || w.preserveFDs > maxPreservedFDs {
		return usageError(f, "--status-fd, --process-fd and a valid --preserve-fds are required")
	}
	status := os.NewFile(uintptr(w.statusFD), "status")
	s, err := newSession(w.Conf, id, "exec-wait")
	if err != nil {
		fmt.Fprint(status, err)
		status.Close()
		return subcommands.ExitFailure
	}
	defer s.close()
	fwd := catchForwarded()
	defer fwd.release()
	proc, terminal, err := w.start(id)
	if err != nil {
		s.log.Printf("exec-wait: %v", err)
		fmt.Fprint(status, err)
		status.Close()
		return subcommands.ExitFailure
	}
	defer proc.Close()
	io.WriteString(status, execWaitStatusOK)
	status.Close()
	// Let go of the caller's stdio and preserved fds: whoever reads the
	// process's output sees its end when the process closes it.
	releaseStdio(w.preserveFDs)
	st, err := fwd.waitForwarding(proc, terminal, s.log)
	if err != nil {
		s.log.Printf("exec-wait: %v", err)
		return subcommands.ExitFailure
	}
	s.log.Printf("exec-wait: pid %d exited with status %d", proc.PID, st)
	return subcommands.ExitStatus(st)
}

// start reads the process and starts it; terminal tells whether it has
// a terminal.
func (w *ExecWait) start(id string) (proc *sandbox.Process, terminal bool, err error) {
	pf := os.NewFile(uintptr(w.processFD), "process")
	data, err := io.ReadAll(pf)
	pf.Close()
	if err != nil {
		return nil, false, fmt.Errorf("exec: reading the process: %w", err)
	}
	var p specs.Process
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, false, fmt.Errorf("exec: decoding the process: %w", err)
	}
	cont, err := container.Load(w.Conf.Root, id)
	if err != nil {
		return nil, false, err
	}
	proc, err = startExec(cont, &p, w.preserveFDs, w.ignorePaused)
	return proc, p.Terminal, err
}

// releaseStdio points fds 0, 1 and 2 at /dev/null and closes the
// preserved fds 3..3+preserve-1.
func releaseStdio(preserve int) {
	if null, err := unix.Open("/dev/null", unix.O_RDWR|unix.O_CLOEXEC, 0); err == nil {
		for fd := 0; fd < 3; fd++ {
			unix.Dup3(null, fd, 0)
		}
		unix.Close(null)
	}
	for fd := 3; fd < 3+preserve; fd++ {
		unix.Close(fd)
	}
}
