// Package sandbox is the host-side handle of one sandbox: how its gofer and
// sandbox (`runsc boot`) processes are started (namespaces, fds), its
// control-socket client, waiting for it and killing it.
//
// CONTRACT (lead): the exported names here are used by runsc/container. The
// sandbox work owns this package and must keep these signatures.
package sandbox

import (
	"os"

	"bulwark.dev/pkg/kernel"
	"bulwark.dev/runsc/config"

	specs "github.com/opencontainers/runtime-spec/specs-go"
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
}

// Create starts the gofer and the sandbox and returns once the sandbox
// reports it is ready (kernel built, root filesystem mounted, init not yet
// started). On failure it kills and reaps anything it started.
func Create(args CreateArgs) (*Sandbox, error) { panic("unimplemented") }

// StartRoot runs the container's init process.
func (s *Sandbox) StartRoot() error { panic("unimplemented") }

// Signal sends sig to the init process, or to every process when all.
func (s *Sandbox) Signal(sig int, all bool) error { panic("unimplemented") }

// Wait blocks until the init process exits and returns its status as a
// shell would (exit code, or 128+signal).
func (s *Sandbox) Wait() (int, error) { panic("unimplemented") }

// ExitStatus returns the init's recorded exit status once it has exited.
func (s *Sandbox) ExitStatus() (int, bool) { panic("unimplemented") }

// Processes lists the sandbox's processes.
func (s *Sandbox) Processes() ([]kernel.ProcessInfo, error) { panic("unimplemented") }

// IsRunning reports whether the sandbox process really exists (pid and start
// time match).
func (s *Sandbox) IsRunning() bool { panic("unimplemented") }

// Destroy kills the sandbox and gofer processes, waits for them where it can,
// and removes the control socket. It is idempotent.
func (s *Sandbox) Destroy() error { panic("unimplemented") }
