package container

import (
	"fmt"
	"os"

	"bulwark.dev/pkg/kernel"
	"bulwark.dev/sandbox"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// backend is what the container lifecycle needs from package sandbox. The
// real one calls the sandbox package; tests substitute a fake so the store
// and state machine can be tested without starting processes.
type backend interface {
	create(args sandbox.CreateArgs) (*sandbox.Sandbox, error)
	startRoot(s *sandbox.Sandbox) error
	signal(s *sandbox.Sandbox, sig int, all bool) error
	wait(s *sandbox.Sandbox) (int, error)
	exitStatus(s *sandbox.Sandbox) (int, bool)
	isRunning(s *sandbox.Sandbox) bool
	destroy(s *sandbox.Sandbox) error
	processes(s *sandbox.Sandbox) ([]kernel.ProcessInfo, error)
	exec(s *sandbox.Sandbox, p *specs.Process, files []*os.File) (*sandbox.Process, error)
	pause(s *sandbox.Sandbox) error
	resume(s *sandbox.Sandbox) error
}

// sandboxes is the backend in use.
var sandboxes backend = realBackend{}

// realBackend calls package sandbox. A panic there (a bug) becomes an error,
// so the CLI still prints one line and cleans up instead of crashing.
type realBackend struct{}

func (realBackend) create(args sandbox.CreateArgs) (s *sandbox.Sandbox, err error) {
	defer recoverTo(&err)
	return sandbox.Create(args)
}

func (realBackend) startRoot(s *sandbox.Sandbox) (err error) {
	defer recoverTo(&err)
	return s.StartRoot()
}

func (realBackend) signal(s *sandbox.Sandbox, sig int, all bool) (err error) {
	defer recoverTo(&err)
	return s.Signal(sig, all)
}

func (realBackend) wait(s *sandbox.Sandbox) (status int, err error) {
	defer recoverTo(&err)
	return s.Wait()
}

func (realBackend) exitStatus(s *sandbox.Sandbox) (status int, ok bool) {
	defer func() {
		if recover() != nil {
			status, ok = 0, false
		}
	}()
	return s.ExitStatus()
}

func (realBackend) isRunning(s *sandbox.Sandbox) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	return s.IsRunning()
}

func (realBackend) destroy(s *sandbox.Sandbox) (err error) {
	defer recoverTo(&err)
	return s.Destroy()
}

func (realBackend) processes(s *sandbox.Sandbox) (ps []kernel.ProcessInfo, err error) {
	defer recoverTo(&err)
	return s.Processes()
}

func (realBackend) exec(s *sandbox.Sandbox, p *specs.Process, files []*os.File) (proc *sandbox.Process, err error) {
	defer recoverTo(&err)
	return s.Exec(p, files)
}

func (realBackend) pause(s *sandbox.Sandbox) (err error) {
	defer recoverTo(&err)
	return s.Pause()
}

func (realBackend) resume(s *sandbox.Sandbox) (err error) {
	defer recoverTo(&err)
	return s.Resume()
}

// recoverTo turns a panic into an error stored in *err.
func recoverTo(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("sandbox: internal error: %v", r)
	}
}
