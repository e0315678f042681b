package testutil

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// DefaultEnv is the environment of a container process unless a test gives
// its own.
var DefaultEnv = []string{
	"PATH=/bin:/sbin:/usr/bin:/usr/sbin",
	"HOME=/root",
	"TERM=dumb",
}

// SpecOptions describe the container process and root of a generated spec.
type SpecOptions struct {
	Args   []string // process.args; required
	Env    []string // process.env; nil means DefaultEnv
	Cwd    string   // process.cwd; "" means "/"
	Rootfs string   // root.path: absolute, or relative to the bundle
}

// NewSpec returns a runc-compatible OCI spec: the process from opts running
// as root without a terminal, the root filesystem writable (readonly false),
// mounts /proc (proc), /dev (tmpfs), /dev/pts (devpts, as in runc's
// default spec) and /tmp (tmpfs), and the usual namespaces. Both runc and
// runsc accept it.
func NewSpec(opts SpecOptions) *specs.Spec {
	env := opts.Env
	if env == nil {
		env = DefaultEnv
	}
	cwd := opts.Cwd
	if cwd == "" {
		cwd = "/"
	}
	caps := []string{"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"}
	return &specs.Spec{
		Version: specs.Version,
		Process: &specs.Process{
			Args: append([]string(nil), opts.Args...),
			Env:  append([]string(nil), env...),
			Cwd:  cwd,
			Capabilities: &specs.LinuxCapabilities{
				Bounding: caps, Effective: caps, Permitted: caps,
			},
			Rlimits:         []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: 1024, Soft: 1024}},
			NoNewPrivileges: true,
		},
		Root:     &specs.Root{Path: opts.Rootfs, Readonly: false},
		Hostname: "bulwark",
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc"},
			{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
			{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
			{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "nodev", "mode=1777"}},
		},
		Linux: &specs.Linux{
			Namespaces: []specs.LinuxNamespace{
				{Type: specs.PIDNamespace}, {Type: specs.NetworkNamespace}, {Type: specs.IPCNamespace},
				{Type: specs.UTSNamespace}, {Type: specs.MountNamespace},
			},
		},
	}
}

// WriteBundle creates dir if needed and writes spec as dir/config.json.
func WriteBundle(dir string, spec *specs.Spec) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating bundle %q: %w", dir, err)
	}
	data, err := json.MarshalIndent(spec, "", "\t")
	if err != nil {
		return fmt.Errorf("encoding spec for bundle %q: %w", dir, err)
	}
	p := filepath.Join(dir, "config.json")
	if err := os.WriteFile(p, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing %q: %w", p, err)
	}
	return nil
}

// ReadSpec parses dir/config.json.
func ReadSpec(dir string) (*specs.Spec, error) {
	p := filepath.Join(dir, "config.json")
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("reading %q: %w", p, err)
	}
	var s specs.Spec
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("parsing %q: %w", p, err)
	}
	return &s, nil
}
