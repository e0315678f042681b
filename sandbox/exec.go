package sandbox

import (
	"errors"
	"fmt"
	"os"

	"bulwark.dev/boot/control"
	"bulwark.dev/pkg/urpc"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Process is a process exec'd in the sandbox, standing for it on the host:
// the sandbox kills the process when the host process holding this handle
// dies (its liveness pipe closes) before the process exited.
type Process struct {
	PID int32 // pid inside the sandbox

	s    *Sandbox
	c    *urpc.Client
	live *os.File // write end of the liveness pipe
}

// Exec starts the process p (complete: the container's defaults already
// merged) in the sandbox with files as its fds 0..len(files)-1 and returns
// once it runs. Close the handle when done with it.
func (s *Sandbox) Exec(p *specs.Process, files []*os.File) (*Process, error) {
	c, err := dialControl(s.ControlSocket)
	if err != nil {
		return nil, err
	}
	r, w, err := os.Pipe()
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("exec: liveness pipe: %w", err)
	}
	defer r.Close()
	var res control.ExecResult
	args := control.ExecArgs{Process: p, NumFDs: len(files)}
	if err := c.Call(control.Exec, args, &res, append(append([]*os.File(nil), files...), r)...); err != nil {
		c.Close()
		w.Close()
		return nil, fmt.Errorf("exec: %w", err)
	}
	return &Process{PID: res.PID, s: s, c: c, live: w}, nil
}

// Wait blocks until the process exits and returns its status as a shell
// reports it (exit code, or 128+signal). If the sandbox goes away
// meanwhile, the process died with it: 128+SIGKILL.
func (p *Process) Wait() (int, error) {
	var r control.WaitResult
	err := p.c.Call(control.ExecWait, control.WaitPIDArgs{PID: p.PID}, &r)
	if err == nil {
		return r.Status, nil
	}
	var re *urpc.RemoteError
	if errors.As(err, &re) || !waitGone(p.s.Pid, p.s.PidStartTime, exitWaitLimit) {
		return -1, fmt.Errorf("waiting for pid %d: %w", p.PID, err)
	}
	return 128 + int(unix.SIGKILL), nil
}

// Signal sends sig to the process.
func (p *Process) Signal(sig int) error {
	return p.signal(control.SignalArgs{Signo: sig, PID: p.PID})
}

// SignalForeground sends sig to the foreground process group of the
// process's controlling terminal (to the process when it has none), as
// the terminal's keyboard would.
func (p *Process) SignalForeground(sig int) error {
	return p.signal(control.SignalArgs{Signo: sig, PID: p.PID, Foreground: true})
}

func (p *Process) signal(a control.SignalArgs) error {
	if err := p.c.Call(control.Signal, a, nil); err != nil {
		return fmt.Errorf("sending signal %d to pid %d: %w", a.Signo, p.PID, err)
	}
	return nil
}

// Close drops the handle; a process still running is killed by the
// sandbox.
func (p *Process) Close() error {
	p.live.Close()
	return p.c.Close()
}

// Pause freezes every process of the sandbox.
func (s *Sandbox) Pause() error {
	if err := s.call(control.Pause, nil, nil); err != nil {
		return fmt.Errorf("pausing: %w", err)
	}
	return nil
}

// Resume thaws the processes of a paused sandbox.
func (s *Sandbox) Resume() error {
	if err := s.call(control.Resume, nil, nil); err != nil {
		return fmt.Errorf("resuming: %w", err)
	}
	return nil
}
