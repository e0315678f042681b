package container

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"os/exec"
	"strings"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// OCI hooks. Every hook runs on the host, in runsc's own namespaces, with
// the container's state JSON on its stdin; its args and env are used
// exactly as the spec gives them and its timeout (seconds) kills it. Under
// runc, createContainer and startContainer hooks run inside the container's
// mount namespace; Bulwark's container lives in a sandbox kernel whose
// namespaces no host program can enter, so these run on the host too, with
// the same state (pid is the sandbox process's host pid).
//
// Failure semantics (runtime spec): a failing prestart, createRuntime or
// createContainer hook aborts create (everything is cleaned up), a failing
// startContainer hook aborts start (the container is stopped); poststart and
// poststop failures are logged and ignored.

// hookKind names a hook list of the spec and the status the state shows.
type hookKind struct {
	name   string
	status Status
	list   func(*specs.Hooks) []specs.Hook
}

// The hook kinds, in the order of the lifecycle.
var (
	prestartHooks        = hookKind{"prestart", Creating, func(h *specs.Hooks) []specs.Hook { return h.Prestart }} //nolint:staticcheck // deprecated but still used (Docker)
	createRuntimeHooks   = hookKind{"createRuntime", Creating, func(h *specs.Hooks) []specs.Hook { return h.CreateRuntime }}
	createContainerHooks = hookKind{"createContainer", Creating, func(h *specs.Hooks) []specs.Hook { return h.CreateContainer }}
	startContainerHooks  = hookKind{"startContainer", Created, func(h *specs.Hooks) []specs.Hook { return h.StartContainer }}
	poststartHooks       = hookKind{"poststart", Running, func(h *specs.Hooks) []specs.Hook { return h.Poststart }}
	poststopHooks        = hookKind{"poststop", Stopped, func(h *specs.Hooks) []specs.Hook { return h.Poststop }}
)

// logger receives debug messages (ignored hook failures, cgroup notes).
var logger = log.New(io.Discard, "", 0)

// SetLogger sets where the package writes its debug messages.
func SetLogger(l *log.Logger) {
	if l != nil {
		logger = l
	}
}

// hookKillWait bounds how long a killed hook's leftover children may hold
// its output open.
const hookKillWait = time.Second

// runHooks runs the container's hooks of kind in order and stops at the
// first failure.
func (c *Container) runHooks(kind hookKind) error {
	if c.Spec == nil || c.Spec.Hooks == nil {
		return nil
	}
	hooks := kind.list(c.Spec.Hooks)
	if len(hooks) == 0 {
		return nil
	}
	st := c.State()
	st.Status = kind.status
	if c.Sandbox != nil && kind.status != Stopped {
		st.Pid = c.Sandbox.Pid
	}
	state, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("encoding state for %s hooks: %w", kind.name, err)
	}
	for i, h := range hooks {
		if err := runHook(h, state); err != nil {
			return fmt.Errorf("%s hook #%d (%s): %w", kind.name, i, h.Path, err)
		}
	}
	return nil
}

// runHooksLogged runs hooks whose failures are only logged.
func (c *Container) runHooksLogged(kind hookKind) {
	if err := c.runHooks(kind); err != nil {
		logger.Printf("container %q: ignoring failed hook: %v", c.ID, err)
	}
}

// runHook runs one hook with state on its stdin.
func runHook(h specs.Hook, state []byte) error {
	ctx := context.Background()
	if h.Timeout != nil {
		if *h.Timeout <= 0 {
			return fmt.Errorf("invalid timeout %d: must be positive", *h.Timeout)
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(*h.Timeout)*time.Second)
		defer cancel()
	}
	args := h.Args
	if len(args) == 0 {
		args = []string{h.Path}
	}
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, h.Path)
	cmd.Path, cmd.Args, cmd.Env = h.Path, args, h.Env // nil Env inherits runsc's, as under runc
	cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(state), &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = hookKillWait
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	if err := cmd.Start(); err != nil {
		return err
	}
	err := cmd.Wait()
	if ctx.Err() != nil {
		return fmt.Errorf("timed out after %ds", *h.Timeout)
	}
	if err != nil {
		if msg := strings.TrimSpace(out.String()); msg != "" {
			const maxMsg = 512
			if len(msg) > maxMsg {
				msg = msg[len(msg)-maxMsg:]
			}
			return fmt.Errorf("%w: %s", err, strings.ReplaceAll(msg, "\n", "; "))
		}
		return err
	}
	return nil
}
