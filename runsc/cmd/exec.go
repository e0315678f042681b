package cmd

import (
	"context"
	"flag"
	"strings"

	"bulwark.dev/runsc/config"
	"bulwark.dev/runsc/container"

	"github.com/google/subcommands"
)

// Exec implements `runsc exec`.
type Exec struct {
	Conf *config.Config

	processFile   string
	cwd           string
	env           envList
	user          string
	addGids       stringList
	caps          stringList
	detach        bool
	pidFile       string
	preserveFDs   int
	noNewPrivs    bool
	ignorePaused  bool
	tty           bool
	consoleSocket string
}

// Name implements subcommands.Command.
func (*Exec) Name() string { return "exec" }

// Synopsis implements subcommands.Command.
func (*Exec) Synopsis() string { return "run a new process in a running container" }

// Usage implements subcommands.Command.
func (*Exec) Usage() string {
	return usageWithFlags("exec [flags] <container-id> <command> [args...]", `
Runs <command> with [args...] inside the running container, as runc exec
does. Unless --process gives the whole process (a runtime-spec Process as
JSON), it starts from the container's process in its spec: its env (-e
adds or replaces variables), cwd (--cwd replaces it), user (-u uid[:gid]
replaces it; --additional-gids the supplementary groups), capabilities
(--cap adds one to every set) and rlimits.

The process gets runsc exec's stdin, stdout and stderr, and with
--preserve-fds N also its fds 3 to 3+N-1 (at most 12).

In the foreground (the default) runsc exec stands for the process on the
host: it waits for it, passes every signal it receives (but SIGKILL,
SIGSTOP, SIGCHLD, SIGPIPE and SIGURG) on to it, and exits with its status.
With --detach runsc exec returns once the process runs, leaving a small
host process (runsc exec-wait, in a new session) that does the same;
--pid-file gets that host process's pid, which callers such as conmon or
containerd-shim may wait on and signal. If that host process dies (even
by SIGKILL), the sandbox kills the process it stood for.

A paused container is refused unless --ignore-paused; the new process
then stays frozen with the others until "runsc resume".

With -t (or "terminal": true in --process) the process gets a new
terminal: its master is sent to --console-socket as runc does, or, in the
foreground without one, joined to runsc exec's own stdin and stdout (the
caller's terminal is put in raw mode meanwhile and restored at the end).

Exit status: the process's status (its exit code, or 128+signal if a
signal killed it) in the foreground; with --detach 0 once started.
1 error, 2 usage error.
`)
}

// SetFlags implements subcommands.Command.
func (e *Exec) SetFlags(f *flag.FlagSet) {
	f.StringVar(&e.processFile, "process", "", "path to a runtime-spec process.json giving the whole process")
	f.StringVar(&e.processFile, "p", "", "short for --process")
	f.StringVar(&e.cwd, "cwd", "", "working directory of the process (default: the spec's)")
	f.Var(&e.env, "env", "set an environment variable KEY=VALUE (repeatable)")
	f.Var(&e.env, "e", "short for --env")
	f.StringVar(&e.user, "user", "", "uid[:gid] to run as (default: the spec's user)")
	f.StringVar(&e.user, "u", "", "short for --user")
	f.Var(&e.addGids, "additional-gids", "a supplementary group id (repeatable)")
	f.Var(&e.addGids, "g", "short for --additional-gids")
	f.Var(&e.caps, "cap", "add a capability, e.g. CAP_NET_ADMIN (repeatable)")
	f.Var(&e.caps, "c", "short for --cap")
	f.BoolVar(&e.detach, "detach", false, "return once the process runs")
	f.BoolVar(&e.detach, "d", false, "short for --detach")
	f.StringVar(&e.pidFile, "pid-file", "", "write the pid of the host process standing for the process here")
	f.IntVar(&e.preserveFDs, "preserve-fds", 0, "pass N more fds (3 to 3+N-1) to the process")
	f.BoolVar(&e.noNewPrivs, "no-new-privs", false, "set no_new_privs for the process")
	f.BoolVar(&e.ignorePaused, "ignore-paused", false, "exec even if the container is paused")
	f.BoolVar(&e.tty, "tty", false, "give the process a new terminal (pty)")
	f.BoolVar(&e.tty, "t", false, "short for --tty")
	f.StringVar(&e.consoleSocket, "console-socket", "", "unix socket to send the terminal's master to (with -t)")
}

// Execute implements subcommands.Command.
func (e *Exec) Execute(_ context.Context, f *flag.FlagSet, _ ...any) subcommands.ExitStatus {
	switch {
	case f.NArg() < 1:
		return usageError(f, "expected a container id and a command")
	case f.NArg() < 2 && e.processFile == "":
		return usageError(f, "expected a command after the container id (or --process)")
	case e.preserveFDs < 0 || e.preserveFDs > maxPreservedFDs:
		return usageError(f, "--preserve-fds must be between 0 and %d", maxPreservedFDs)
	}
	id := f.Arg(0)
	s, err := newSession(e.Conf, id, "exec")
	if err != nil {
		return failEarly(err)
	}
	defer s.close()
	cont, err := container.Load(e.Conf.Root, id)
	if err != nil {
		return s.fail(err)
	}
	p, err := cont.ExecProcess(container.ExecOptions{
		Args:           f.Args()[1:],
		ProcessFile:    e.processFile,
		Cwd:            e.cwd,
		Env:            e.env,
		User:           e.user,
		AdditionalGids: e.addGids,
		Caps:           e.caps,
		NoNewPrivs:     e.noNewPrivs,
		TTY:            e.tty,
	})
	if err != nil {
		return s.fail(err)
	}
	// With a terminal, fds 0-2 are its slave until the process has them.
	term, err := useExecTerminal(p.Terminal, e.consoleSocket, e.detach)
	if err != nil {
		return s.fail(err)
	}
	defer term.finish()
	if e.detach {
		pid, err := spawnExecWaiter(e.Conf, cont.ID, p, e.preserveFDs, e.ignorePaused)
		term.finish()
		if err != nil {
			return s.fail(err)
		}
		if e.pidFile != "" {
			if err := container.WritePIDFile(e.pidFile, pid); err != nil {
				return s.fail(err)
			}
		}
		s.log.Printf("exec in container %q: detached, host process %d", cont.ID, pid)
		return subcommands.ExitSuccess
	}

	fwd := catchForwarded()
	defer fwd.release()
	proc, err := startExec(cont, p, e.preserveFDs, e.ignorePaused)
	term.restore()
	if err != nil {
		term.finish()
		return s.fail(err)
	}
	defer proc.Close()
	if e.pidFile != "" {
		if err := container.WritePIDFile(e.pidFile, ownPid()); err != nil {
			return s.fail(err)
		}
	}
	s.log.Printf("exec in container %q: pid %d", cont.ID, proc.PID)
	status, err := fwd.waitForwarding(proc, p.Terminal, s.log)
	term.finish()
	if err != nil {
		return s.fail(err)
	}
	s.log.Printf("exec in container %q: pid %d exited with status %d", cont.ID, proc.PID, status)
	return subcommands.ExitStatus(status)
}

// stringList is a repeatable string flag.
type stringList []string

// String implements flag.Value.
func (l *stringList) String() string { return strings.Join(*l, ",") }

// Set implements flag.Value.
func (l *stringList) Set(v string) error {
	*l = append(*l, v)
	return nil
}
