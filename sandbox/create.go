package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"bulwark.dev/boot/control"
	"bulwark.dev/gofer"
	"bulwark.dev/pkg/urpc"

	"github.com/cenkalti/backoff/v4"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// readyLimit bounds how long Create waits for the sandbox to become ready.
const readyLimit = 15 * time.Second

// cloneFlags are the namespaces the gofer gets (the sandbox's follow the
// spec: sandboxNamespaces); the network namespace is chosen per child
// (netPlacement).
const cloneFlags = unix.CLONE_NEWNS | unix.CLONE_NEWPID | unix.CLONE_NEWIPC | unix.CLONE_NEWUTS

// Names of the files Create makes in the state directory.
const (
	ctlSockName  = "ctl.sock"
	exitName     = "exit"
	bootLogName  = "sandbox.stderr"
	goferLogName = "gofer.stderr"
)

// child is one started process and a channel closed once it was reaped.
type child struct {
	name   string
	cmd    *exec.Cmd
	exited chan struct{}
	log    string // its stderr file
}

// launch tracks what Create has made so a failure can undo it.
type launch struct {
	args     CreateArgs
	children []*child
	files    []*os.File // our copies of fds handed to children
	paths    []string   // files created in the state directory
}

// Create starts the gofer and the sandbox and returns once the sandbox
// reports it is ready (kernel built, root filesystem mounted, init not yet
// started). On failure it kills and reaps anything it started.
func Create(args CreateArgs) (*Sandbox, error) {
	if err := checkArgs(args); err != nil {
		return nil, err
	}
	if cg := args.Cgroup; cg != nil {
		// On cgroup v1 the children must be in the cgroup from their first
		// instruction: the sandbox forks its stub processes (which hold the
		// application's memory) within milliseconds of starting, and a pid
		// written after start would leave them outside the limits.
		restore, err := cg.EnterV1()
		if err != nil {
			return nil, fmt.Errorf("entering the container's cgroup: %w", err)
		}
		defer restore()
	}
	l := &launch{args: args}
	s, err := l.run()
	l.closeFiles()
	if err != nil {
		l.undo()
		return nil, err
	}
	return s, nil
}

// checkArgs refuses what Create cannot do before anything is started.
func checkArgs(a CreateArgs) error {
	switch {
	case a.ID == "":
		return errors.New("sandbox: empty container id")
	case a.Spec == nil || a.Spec.Process == nil:
		return errors.New("sandbox: spec has no process")
	case a.Conf == nil:
		return errors.New("sandbox: no configuration")
	case !filepath.IsAbs(a.BundleDir):
		return fmt.Errorf("sandbox: bundle directory %q is not absolute", a.BundleDir)
	case a.StateDir == "":
		return errors.New("sandbox: no state directory")
	case a.ConsoleSocket != "":
		return errors.New("sandbox: the console socket is served by the caller: pass the pty slave as Stdio")
	case a.Spec.Process.Terminal && a.Stdio == nil:
		return errors.New("sandbox: process.terminal needs a terminal as Stdio")
	case a.Stdio != nil && len(a.Stdio) != 3:
		return fmt.Errorf("sandbox: %d stdio files, want 3", len(a.Stdio))
	}
	return nil
}

// GoferMountCount is how many gofer connections a spec needs: the root
// and one per bind mount (gofer.BindMounts), in that order.
func GoferMountCount(spec *specs.Spec) int {
	return 1 + len(gofer.BindMounts(spec))
}

func (l *launch) run() (*Sandbox, error) {
	a := l.args
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("finding the runsc binary: %w", err)
	}
	s := &Sandbox{
		ID:            a.ID,
		ControlSocket: filepath.Join(a.StateDir, ctlSockName),
		ExitFile:      filepath.Join(a.StateDir, exitName),
	}

	// The sandbox's namespaces, checked before anything starts.
	sandboxFlags, sandboxJoins, err := sandboxNamespaces(a.Spec)
	if err != nil {
		return nil, err
	}

	// One socketpair per gofer mount: the gofer serves one end, the
	// sandbox's gofer filesystem uses the other.
	var goferEnds, sandboxEnds []*os.File
	for i := range GoferMountCount(a.Spec) {
		fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return nil, fmt.Errorf("creating gofer socketpair: %w", err)
		}
		g := l.keep(os.NewFile(uintptr(fds[0]), "gofer-io-"+strconv.Itoa(i)))
		c := l.keep(os.NewFile(uintptr(fds[1]), "sandbox-io-"+strconv.Itoa(i)))
		goferEnds, sandboxEnds = append(goferEnds, g), append(sandboxEnds, c)
	}

	// The gofer first: the sandbox mounts through it while booting.
	goferSpec, err := l.specFile()
	if err != nil {
		return nil, err
	}
	goferArgs := []string{"gofer", "--id=" + a.ID, "--bundle=" + a.BundleDir}
	goferFiles := []*os.File{goferSpec}
	goferArgs = append(goferArgs, "--spec-fd="+fdNum(goferFiles, goferSpec))
	goferFiles = append(goferFiles, goferEnds...)
	goferArgs = append(goferArgs, "--io-fds="+fdList(goferFiles, goferEnds))
	g, err := l.start("gofer", exe, goferArgs, goferFiles, goferLogName, cloneFlags, nil, netPlacement{own: true})
	if err != nil {
		return nil, err
	}
	if s.GoferPid, s.GoferStartTime, err = pidAndStart(g); err != nil {
		return nil, err
	}

	// Then the sandbox.
	bootSpec, err := l.specFile()
	if err != nil {
		return nil, err
	}
	ctl, err := listenControl(s.ControlSocket)
	if err != nil {
		return nil, err
	}
	l.keep(ctl)
	l.paths = append(l.paths, s.ControlSocket)
	exitFile, err := os.OpenFile(s.ExitFile, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("creating exit file: %w", err)
	}
	l.keep(exitFile)
	l.paths = append(l.paths, s.ExitFile)
	stdio := a.Stdio
	if stdio == nil {
		stdio = []*os.File{os.Stdin, os.Stdout, os.Stderr}
	}

	bootFiles := []*os.File{bootSpec, ctl, exitFile}
	bootFiles = append(bootFiles, stdio...)
	bootFiles = append(bootFiles, sandboxEnds...)
	bootArgs := []string{
		"boot", "--id=" + a.ID, "--bundle=" + a.BundleDir,
		"--spec-fd=" + fdNum(bootFiles, bootSpec),
		"--controller-fd=" + fdNum(bootFiles, ctl),
		"--exit-fd=" + fdNum(bootFiles, exitFile),
		"--stdio-fds=" + fdList(bootFiles, stdio),
		"--io-fds=" + fdList(bootFiles, sandboxEnds),
	}
	b, err := l.start("sandbox", exe, bootArgs, bootFiles, bootLogName, sandboxFlags, sandboxJoins, sandboxNet(a))
	if err != nil {
		return nil, err
	}
	if s.Pid, s.PidStartTime, err = pidAndStart(b); err != nil {
		return nil, err
	}
	l.closeFiles() // the children hold their copies now

	if err := l.waitReady(s, g, b); err != nil {
		return nil, err
	}
	return s, nil
}

// keep records a file to close once the children hold it.
func (l *launch) keep(f *os.File) *os.File {
	l.files = append(l.files, f)
	return f
}

// specFile returns a memfd holding the spec as JSON, with its offset at
// 0. Each child gets its own (a shared file offset would be a race).
func (l *launch) specFile() (*os.File, error) {
	data, err := json.Marshal(l.args.Spec)
	if err != nil {
		return nil, fmt.Errorf("encoding spec: %w", err)
	}
	fd, err := unix.MemfdCreate("runsc-spec", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("creating spec memfd: %w", err)
	}
	f := l.keep(os.NewFile(uintptr(fd), "spec"))
	if _, err := f.WriteAt(data, 0); err != nil {
		return nil, fmt.Errorf("writing spec memfd: %w", err)
	}
	return f, nil
}

// start runs `exe <global flags> args...` detached in the new namespaces
// of flags, after joining joins (the network one per np), with files as
// fds 3, 4, ... and stdout/stderr appended to logName in the state
// directory.
func (l *launch) start(name, exe string, args []string, files []*os.File, logName string,
	flags uintptr, joins []nsJoin, np netPlacement) (*child, error) {
	logPath := filepath.Join(l.args.StateDir, logName)
	logf, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("creating %s log: %w", name, err)
	}
	l.keep(logf)
	l.paths = append(l.paths, logPath)

	argv := append([]string{exe}, l.args.Conf.ToFlags()...)
	argv = append(argv, args...)
	cmd := &exec.Cmd{
		Path:       exe,
		Args:       argv,
		Stdout:     logf,
		Stderr:     logf,
		ExtraFiles: files,
		SysProcAttr: &syscall.SysProcAttr{
			Cloneflags: flags | netFlag(np),
			Setsid:     true,
		},
	}
	cg := l.args.Cgroup
	if cg != nil && cg.Unified != "" {
		fd, err := unix.Open(cg.Unified, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, fmt.Errorf("opening cgroup %s: %w", cg.Unified, err)
		}
		defer unix.Close(fd)
		cmd.SysProcAttr.UseCgroupFD, cmd.SysProcAttr.CgroupFD = true, fd
	}
	if err := startJoined(cmd, joins, np); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	c := &child{name: name, cmd: cmd, exited: make(chan struct{}), log: logPath}
	l.children = append(l.children, c)
	if cg != nil {
		if err := cg.JoinV1(cmd.Process.Pid); err != nil {
			return nil, fmt.Errorf("placing the %s in its cgroup: %w", name, err)
		}
	}
	return c, nil
}

// pidAndStart returns a started child's pid and start time, then reaps it
// in the background when it exits (while this process lives).
func pidAndStart(c *child) (int, uint64, error) {
	pid := c.cmd.Process.Pid
	// The child is not reaped yet, so its stat exists even if it died.
	st, err := startTime(pid)
	go func() {
		c.cmd.Wait()
		close(c.exited)
	}()
	if err != nil {
		return 0, 0, fmt.Errorf("reading start time of %s (pid %d): %w", c.name, pid, err)
	}
	return pid, st, nil
}

// waitReady calls Ready on the control socket until it answers, a child
// dies or readyLimit passes.
func (l *launch) waitReady(s *Sandbox, gofer, boot *child) error {
	ctx, cancel := context.WithTimeout(context.Background(), readyLimit)
	defer cancel()
	answer := make(chan error, 1)
	go func() { answer <- pingUntilReady(ctx, s.ControlSocket) }()

	select {
	case err := <-answer:
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("sandbox not ready after %v%s", readyLimit, logTails(boot, gofer))
		}
		return fmt.Errorf("sandbox failed to start: %w%s", err, logTails(boot, gofer))
	case <-boot.exited:
		return exitedWhileStarting(boot, gofer)
	case <-gofer.exited:
		if gofer.cmd.ProcessState.Success() {
			// The gofer ends cleanly when the sandbox closes its
			// connections: the sandbox failed, and says why as it exits.
			select {
			case <-boot.exited:
				return exitedWhileStarting(boot, gofer)
			case <-time.After(killWaitLimit):
			}
		}
		return exitedWhileStarting(gofer, boot)
	}
}

// exitedWhileStarting is the error for a child that exited before the
// sandbox was ready: the child's own one-line error when that is what it
// wrote, else its exit status and the last lines both children wrote.
func exitedWhileStarting(c, other *child) error {
	if t := tail(c.log, 4, 1024); t != "" && !strings.Contains(t, "\n") {
		return fmt.Errorf("%s exited while starting: %s", c.name, t)
	}
	return fmt.Errorf("%s exited while starting (%s)%s", c.name, c.cmd.ProcessState, logTails(c, other))
}

// pingUntilReady calls Ready, retrying with backoff while the connection
// fails, until the sandbox answers (nil, or its error) or ctx ends.
func pingUntilReady(ctx context.Context, path string) error {
	op := func() error {
		c, err := dialControl(path)
		if err != nil {
			return err
		}
		defer c.Close()
		stop := context.AfterFunc(ctx, func() { c.Close() })
		defer stop()
		var r control.ReadyResult
		err = c.Call(control.Ready, nil, &r)
		var re *urpc.RemoteError
		if errors.As(err, &re) {
			return backoff.Permanent(err)
		}
		return err
	}
	b := backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(5*time.Millisecond),
		backoff.WithMaxInterval(200*time.Millisecond),
		backoff.WithMaxElapsedTime(0), // ctx bounds it
	)
	return backoff.Retry(op, backoff.WithContext(b, ctx))
}

// logTails formats the last lines the children wrote to stderr.
func logTails(cs ...*child) string {
	var b strings.Builder
	for _, c := range cs {
		if t := tail(c.log, 4, 1024); t != "" {
			fmt.Fprintf(&b, "\n%s: %s", c.name, t)
		}
	}
	return b.String()
}

// tail returns the reason a child wrote to stderr: the Go panic or fatal
// error line and the first frame below it if there is one, else up to n
// last non-empty lines; at most max bytes.
func tail(path string, n, max int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	var lines []string
	for _, line := range strings.Split(string(data), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			lines = append(lines, line)
		}
	}
	for i, line := range lines {
		if strings.HasPrefix(line, "panic: ") || strings.HasPrefix(line, "fatal error: ") {
			lines = lines[i:min(i+5, len(lines))]
			n = len(lines)
			break
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	out := strings.Join(lines, "\n  ")
	if len(out) > max {
		out = out[len(out)-max:]
	}
	return out
}

// closeFiles closes our copies of the fds handed to children.
func (l *launch) closeFiles() {
	for _, f := range l.files {
		f.Close()
	}
	l.files = nil
}

// undo kills and reaps the children and removes the files Create made.
func (l *launch) undo() {
	for _, c := range l.children {
		c.cmd.Process.Kill()
	}
	for _, c := range l.children {
		select {
		case <-c.exited:
		case <-time.After(killWaitLimit):
		}
	}
	for _, p := range l.paths {
		os.Remove(p)
	}
}

// fdNum is the child's fd number for f, passed as files[i] -> fd 3+i.
func fdNum(files []*os.File, f *os.File) string {
	for i, g := range files {
		if g == f {
			return strconv.Itoa(3 + i)
		}
	}
	panic("fdNum: file not passed") // a bug in this file, not bad input
}

// fdList is the comma-separated child fd numbers of fs.
func fdList(files, fs []*os.File) string {
	nums := make([]string, len(fs))
	for i, f := range fs {
		nums[i] = fdNum(files, f)
	}
	return strings.Join(nums, ",")
}
