// Package sandbox is the host-side handle of one sandbox: how its gofer and
// sandbox (`runsc boot`) processes are started (namespaces, fds), its
// control-socket client, waiting for it and killing it.
package sandbox

import (
	"errors"
	"fmt"
	"os"
	"time"

	"bulwark.dev/boot/control"
	"bulwark.dev/pkg/cgroup"
	"bulwark.dev/pkg/kernel"
	"bulwark.dev/pkg/urpc"
	"bulwark.dev/runsc/config"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Sandbox is the persistent description of a running sandbox. It is stored
// in the container's meta.json, so every field is JSON-serializable.
type Sandbox struct {
	ID             string `json:"id"`
	Pid            int    `json:"pid"`          // `runsc boot` process on the host
	PidStartTime   uint64 `json:"pidStartTime"` // /proc/<pid>/stat field 22, to detect pid reuse
	GoferPid       int    `json:"goferPid"`
	GoferStartTime uint64 `json:"goferStartTime"`
	ControlSocket  string `json:"controlSocket"` // unix socket path
	ExitFile       string `json:"exitFile"`      // the sandbox writes the init's exit status here
}

// CreateArgs are the inputs of Create.
type CreateArgs struct {
	ID            string
	Spec          *specs.Spec
	BundleDir     string // absolute
	StateDir      string // <root>/<id>: control socket and exit file go here
	Conf          *config.Config
	ConsoleSocket string     // unix socket path to send the pty master to, or ""
	Stdio         []*os.File // stdin, stdout, stderr for the container; nil: runsc's own
	// Cgroup, if not nil, is the container's cgroup (already created): the
	// gofer and the sandbox are placed in it before they run runsc's code
	// (v2: CLONE_INTO_CGROUP) or right after they start (v1).
	Cgroup *cgroup.Cgroup
}

// exitWaitLimit bounds how long Wait waits for the exit file once the
// control connection is gone.
const exitWaitLimit = 10 * time.Second

// StartRoot runs the container's init process.
func (s *Sandbox) StartRoot() error {
	var r control.StartResult
	if err := s.call(control.StartRoot, nil, &r); err != nil {
		return fmt.Errorf("starting the container process: %w", err)
	}
	return nil
}

// Signal sends sig to the init process, or to every process when all.
func (s *Sandbox) Signal(sig int, all bool) error {
	if err := s.call(control.Signal, control.SignalArgs{Signo: sig, All: all}, nil); err != nil {
		return fmt.Errorf("sending signal %d: %w", sig, err)
	}
	return nil
}

// Processes lists the sandbox's processes.
func (s *Sandbox) Processes() ([]kernel.ProcessInfo, error) {
	var ps []kernel.ProcessInfo
	if err := s.call(control.Processes, nil, &ps); err != nil {
		return nil, fmt.Errorf("listing processes: %w", err)
	}
	return ps, nil
}

// Wait blocks until the init process exits and returns its status as a
// shell would (exit code, or 128+signal). When the sandbox process is gone
// (or goes away during the wait) the exit file answers; a sandbox killed
// before it could record a status reports 128+SIGKILL, as its processes
// died with it.
func (s *Sandbox) Wait() (int, error) {
	var r control.WaitResult
	err := s.call(control.Wait, nil, &r)
	if err == nil {
		return r.Status, nil
	}
	var re *urpc.RemoteError
	if errors.As(err, &re) {
		return -1, fmt.Errorf("waiting for the container process: %w", err)
	}
	deadline := time.Now().Add(exitWaitLimit)
	for {
		if st, ok := s.ExitStatus(); ok {
			return st, nil
		}
		if !s.IsRunning() {
			if st, ok := s.ExitStatus(); ok {
				return st, nil
			}
			return 128 + int(unix.SIGKILL), nil
		}
		if time.Now().After(deadline) {
			return -1, fmt.Errorf("waiting for the container process: %w; the sandbox (pid %d) still runs", err, s.Pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ExitStatus returns the init's recorded exit status once it has exited.
func (s *Sandbox) ExitStatus() (int, bool) {
	if s.ExitFile == "" {
		return 0, false
	}
	return control.ReadExitFile(s.ExitFile)
}

// IsRunning reports whether the sandbox process really exists (pid and start
// time match) and is not a zombie.
func (s *Sandbox) IsRunning() bool {
	return alive(s.Pid, s.PidStartTime)
}

// Destroy kills the sandbox and gofer processes, waits for them where it can,
// and removes the control socket. It is idempotent.
func (s *Sandbox) Destroy() error {
	var errs []error
	procs := []struct {
		name  string
		pid   int
		start uint64
	}{{"sandbox", s.Pid, s.PidStartTime}, {"gofer", s.GoferPid, s.GoferStartTime}}
	for _, p := range procs {
		if err := kill(p.pid, p.start); err != nil {
			errs = append(errs, fmt.Errorf("killing %s (pid %d): %w", p.name, p.pid, err))
		}
	}
	for _, p := range procs {
		if !waitGone(p.pid, p.start, killWaitLimit) {
			errs = append(errs, fmt.Errorf("%s (pid %d) still exists %v after SIGKILL", p.name, p.pid, killWaitLimit))
		}
	}
	if s.ControlSocket != "" {
		if err := os.Remove(s.ControlSocket); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("removing control socket: %w", err))
		}
	}
	return errors.Join(errs...)
}

// call makes one control-socket call on a fresh connection.
func (s *Sandbox) call(method string, arg, result any) error {
	c, err := dialControl(s.ControlSocket)
	if err != nil {
		return err
	}
	defer c.Close()
	return c.Call(method, arg, result)
}

// HostPids returns the host pids of the sandbox's processes: the sandbox
// process and its descendants (the stub processes running application
// code), then the gofer and its descendants. Processes that are gone are
// left out.
func (s *Sandbox) HostPids() []int {
	var pids []int
	if alive(s.Pid, s.PidStartTime) {
		pids = append(pids, descendants(s.Pid)...)
	}
	if alive(s.GoferPid, s.GoferStartTime) {
		pids = append(pids, descendants(s.GoferPid)...)
	}
	return pids
}
