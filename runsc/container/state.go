package container

import (
	"time"

	"bulwark.dev/pkg/specutils"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// State is the OCI state of a container as `runsc state` and `runsc list
// --format json` print it (runc's fields and names).
type State struct {
	OCIVersion  string            `json:"ociVersion"`
	ID          string            `json:"id"`
	Pid         int               `json:"pid"`
	Status      Status            `json:"status"`
	Bundle      string            `json:"bundle"`
	Rootfs      string            `json:"rootfs"`
	Created     time.Time         `json:"created"`
	Owner       string            `json:"owner"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// State returns the container's OCI state.
func (c *Container) State() State {
	s := State{
		OCIVersion: specs.Version,
		ID:         c.ID,
		Pid:        c.Pid(),
		Status:     c.Status,
		Bundle:     c.BundleDir,
		Created:    c.Created,
		Owner:      c.Owner,
	}
	if c.Spec != nil {
		if c.Spec.Version != "" {
			s.OCIVersion = c.Spec.Version
		}
		s.Rootfs = specutils.RootfsPath(c.Spec, c.BundleDir)
		s.Annotations = c.Spec.Annotations
	}
	return s
}
