package container

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// sigKill is SIGKILL's number.
const sigKill = 9

// harmlessBeforeStart are the signals whose default action neither
// terminates nor dumps core; sent to a created container they do nothing.
// 0 only checks that the container exists.
var harmlessBeforeStart = map[int]bool{
	0:  true,
	17: true, // SIGCHLD
	18: true, // SIGCONT
	19: true, // SIGSTOP
	20: true, // SIGTSTP
	21: true, // SIGTTIN
	22: true, // SIGTTOU
	23: true, // SIGURG
	28: true, // SIGWINCH
}

// startErrors are the messages for starting a container in each status
// but created (runc's wording).
var startErrors = map[Status]string{
	Creating: "cannot start a container that is still being created",
	Running:  "cannot start an already running container",
	Paused:   "cannot start a paused container",
	Stopped:  "cannot start a container that has stopped",
}

// Start runs the startContainer hooks, then the init process of a created
// container, then the poststart hooks. A failing startContainer hook stops
// the container (its sandbox is destroyed) and Start fails.
func (c *Container) Start() error {
	return c.update(func() error {
		if c.Status != Created {
			return errors.New(startErrors[c.Status])
		}
		if err := c.runHooks(startContainerHooks); err != nil {
			derr := c.destroySandbox()
			status := 128 + sigKill
			c.Status, c.KilledStatus = Stopped, &status
			return errors.Join(fmt.Errorf("starting container %q: %w", c.ID, err), derr, c.save())
		}
		if err := sandboxes.startRoot(c.Sandbox); err != nil {
			return fmt.Errorf("starting container %q: %w", c.ID, err)
		}
		c.Status = Running
		if err := c.save(); err != nil {
			return err
		}
		c.runHooksLogged(poststartHooks)
		return nil
	})
}

// Signal sends sig to the init process, or to every process of the
// container when all. A container that is not running gets an error, except
// a created one: a signal that would kill its init ends it (the sandbox is
// destroyed and the container is stopped with status 128+sig), and any
// other signal does nothing.
func (c *Container) Signal(sig int, all bool) error {
	if sig < 0 || sig > 64 {
		return fmt.Errorf("invalid signal %d", sig)
	}
	if err := c.refresh(); err != nil {
		return err
	}
	if c.Status != Created || harmlessBeforeStart[sig] {
		return c.signalRunning(sig, all)
	}
	return c.update(func() error {
		if c.Status != Created {
			return c.signalRunning(sig, all)
		}
		if err := c.destroySandbox(); err != nil {
			return err
		}
		status := 128 + sig
		c.Status = Stopped
		c.KilledStatus = &status
		return c.save()
	})
}

// signalRunning signals a running container; a created one only gets the
// harmless signals, which do nothing.
func (c *Container) signalRunning(sig int, all bool) error {
	switch {
	case c.Status == Created && harmlessBeforeStart[sig], c.Status.alive() && sig == 0:
		return nil
	case !c.Status.alive():
		return fmt.Errorf("container %q is not running", c.ID)
	}
	if err := sandboxes.signal(c.Sandbox, sig, all); err != nil {
		return fmt.Errorf("signaling container %q: %w", c.ID, err)
	}
	return nil
}

// Wait blocks until the init process has exited and returns its status as a
// shell reports it (exit code, or 128+signal).
func (c *Container) Wait() (int, error) {
	if c.KilledStatus != nil {
		return *c.KilledStatus, nil
	}
	if c.Sandbox == nil {
		return 0, fmt.Errorf("container %q never had a sandbox: nothing to wait for", c.ID)
	}
	if status, ok := sandboxes.exitStatus(c.Sandbox); ok {
		return status, nil
	}
	status, err := sandboxes.wait(c.Sandbox)
	if err != nil {
		// A created container killed meanwhile has its status in meta.json.
		if c.refresh() == nil && c.KilledStatus != nil {
			return *c.KilledStatus, nil
		}
		return 0, fmt.Errorf("waiting for container %q: %w", c.ID, err)
	}
	return status, nil
}

// Delete destroys the container's sandbox and removes its state directory.
// A running container is refused unless force, which kills it first.
func (c *Container) Delete(force bool) error {
	return c.update(func() error {
		if c.Status.alive() {
			if !force {
				return fmt.Errorf("cannot delete container %q that is not stopped: %s", c.ID, c.Status)
			}
			// Destroy kills everything anyway; this is a courtesy so the
			// processes die as by `kill -a KILL`.
			sandboxes.signal(c.Sandbox, sigKill, true)
		}
		if err := c.destroySandbox(); err != nil {
			return err
		}
		if err := c.deleteCgroup(); err != nil {
			return err
		}
		if c.Sandbox != nil {
			c.Status = Stopped
			c.runHooksLogged(poststopHooks)
		}
		return c.removeDir()
	})
}

// removeDir removes meta.json first, so that an interrupted removal leaves a
// directory that loads as an abandoned creation (stopped), then the rest.
func (c *Container) removeDir() error {
	if err := os.Remove(filepath.Join(c.dir(), metaFile)); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("removing container %q: %w", c.ID, err)
	}
	if err := os.RemoveAll(c.dir()); err != nil {
		return fmt.Errorf("removing container %q: %w", c.ID, err)
	}
	return nil
}

// Pid is the host pid of the sandbox process while the container is
// created, running or paused, else 0.
func (c *Container) Pid() int {
	if c.Sandbox == nil || (c.Status != Created && !c.Status.alive()) {
		return 0
	}
	return c.Sandbox.Pid
}
