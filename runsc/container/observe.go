package container

import (
	"fmt"

	"bulwark.dev/pkg/cgroup"
	"bulwark.dev/pkg/kernel"
)

// setupCgroup resolves and creates the cgroup the spec names, recording it
// (saved) before it exists so that an interrupted create leaves it for
// delete to remove. A spec without linux.cgroupsPath gets none, as with
// runc.
func (c *Container) setupCgroup() error {
	if c.Spec == nil || c.Spec.Linux == nil || c.Spec.Linux.CgroupsPath == "" {
		return c.save()
	}
	cg, err := cgroup.Resolve(c.Spec.Linux.CgroupsPath)
	if err != nil {
		return fmt.Errorf("cgroup: %w", err)
	}
	c.Cgroup = cg
	if err := c.save(); err != nil {
		return err
	}
	if err := cg.Create(c.Spec.Linux.Resources, logger.Printf); err != nil {
		return fmt.Errorf("cgroup: %w", err)
	}
	return nil
}

// deleteCgroup removes the container's cgroup, if any.
func (c *Container) deleteCgroup() error {
	if c.Cgroup == nil {
		return nil
	}
	if err := c.Cgroup.Delete(); err != nil {
		return fmt.Errorf("deleting cgroup of container %q: %w", c.ID, err)
	}
	return nil
}

// Processes lists the container's processes as the sandbox kernel sees
// them (in-sandbox pids).
func (c *Container) Processes() ([]kernel.ProcessInfo, error) {
	if err := c.checkAlive(); err != nil {
		return nil, err
	}
	ps, err := sandboxes.processes(c.Sandbox)
	if err != nil {
		return nil, fmt.Errorf("listing processes of container %q: %w", c.ID, err)
	}
	return ps, nil
}

// HostPids lists the host pids of the container: those in its cgroup, or
// without a cgroup the sandbox and gofer processes and their descendants.
func (c *Container) HostPids() ([]int, error) {
	if err := c.checkAlive(); err != nil {
		return nil, err
	}
	if c.Cgroup != nil {
		return c.Cgroup.Pids()
	}
	return c.Sandbox.HostPids(), nil
}

// Stats reads the usage of the container's cgroup.
func (c *Container) Stats() (*cgroup.Stats, error) {
	if err := c.checkAlive(); err != nil {
		return nil, err
	}
	if c.Cgroup == nil {
		return nil, fmt.Errorf("container %q has no cgroup (its spec sets no linux.cgroupsPath): no statistics", c.ID)
	}
	return c.Cgroup.Stats()
}

// checkAlive refuses a container whose sandbox is not running.
func (c *Container) checkAlive() error {
	if c.Status != Created && !c.Status.alive() {
		return fmt.Errorf("container %q is not running", c.ID)
	}
	return nil
}
