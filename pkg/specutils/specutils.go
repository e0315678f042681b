// Package specutils holds helpers for OCI runtime specs: loading and
// validating a bundle's config.json, runc's default spec, and small
// predicates other packages need.
package specutils

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ConfigFile is the name of the spec inside a bundle directory.
const ConfigFile = "config.json"

// LoadSpec reads, parses and validates <bundleDir>/config.json. Errors are
// one line that names what failed and where, e.g.
// `invalid spec "/b/config.json": process.args must not be empty`.
func LoadSpec(bundleDir string) (*specs.Spec, error) {
	abs, err := filepath.Abs(bundleDir)
	if err != nil {
		return nil, fmt.Errorf("bundle %q: %w", bundleDir, err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("bundle %q: %w", abs, pathErr(err))
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("bundle %q: not a directory", abs)
	}
	path := filepath.Join(abs, ConfigFile)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading spec %q: %w", path, pathErr(err))
	}
	var spec specs.Spec
	if err := json.Unmarshal(data, &spec); err != nil {
		return nil, fmt.Errorf("invalid spec %q: %w", path, err)
	}
	if err := Validate(&spec, abs); err != nil {
		return nil, fmt.Errorf("invalid spec %q: %w", path, err)
	}
	return &spec, nil
}

// Validate checks what runsc needs from a spec: a process with arguments and
// an absolute cwd, known capabilities and rlimits, a root whose path exists
// (relative paths are taken from bundleDir), absolute mount destinations,
// and absolute masked, read-only and device paths.
func Validate(spec *specs.Spec, bundleDir string) error {
	p := spec.Process
	switch {
	case p == nil:
		return errors.New("process must be set")
	case len(p.Args) == 0:
		return errors.New("process.args must not be empty")
	case p.Args[0] == "":
		return errors.New("process.args[0] must not be empty")
	case p.Cwd == "":
		return errors.New("process.cwd must be set")
	case !filepath.IsAbs(p.Cwd):
		return fmt.Errorf("process.cwd %q must be an absolute path", p.Cwd)
	}
	if spec.Root == nil || spec.Root.Path == "" {
		return errors.New("root.path must be set")
	}
	root := RootfsPath(spec, bundleDir)
	fi, err := os.Stat(root)
	if err != nil {
		return fmt.Errorf("root.path %q (%s): %w", spec.Root.Path, root, pathErr(err))
	}
	if !fi.IsDir() {
		return fmt.Errorf("root.path %q (%s): not a directory", spec.Root.Path, root)
	}
	for i, m := range spec.Mounts {
		if !filepath.IsAbs(m.Destination) {
			return fmt.Errorf("mounts[%d].destination %q must be an absolute path", i, m.Destination)
		}
	}
	if err := ValidateCapabilities(p.Capabilities); err != nil {
		return err
	}
	if err := validateLinuxPaths(spec.Linux); err != nil {
		return err
	}
	return validateRlimits(p.Rlimits)
}

// rlimitTypes are the rlimit names Linux has.
var rlimitTypes = map[string]bool{
	"RLIMIT_CPU": true, "RLIMIT_FSIZE": true, "RLIMIT_DATA": true, "RLIMIT_STACK": true,
	"RLIMIT_CORE": true, "RLIMIT_RSS": true, "RLIMIT_NPROC": true, "RLIMIT_NOFILE": true,
	"RLIMIT_MEMLOCK": true, "RLIMIT_AS": true, "RLIMIT_LOCKS": true, "RLIMIT_SIGPENDING": true,
	"RLIMIT_MSGQUEUE": true, "RLIMIT_NICE": true, "RLIMIT_RTPRIO": true, "RLIMIT_RTTIME": true,
}

// validateRlimits rejects unknown rlimit types, duplicates and soft limits
// above hard ones, so that create (not start) fails.
func validateRlimits(rlimits []specs.POSIXRlimit) error {
	seen := map[string]bool{}
	for i, r := range rlimits {
		switch {
		case !rlimitTypes[r.Type]:
			return fmt.Errorf("process.rlimits[%d]: unknown rlimit type %q", i, r.Type)
		case seen[r.Type]:
			return fmt.Errorf("process.rlimits[%d]: %s is set twice", i, r.Type)
		case r.Soft > r.Hard:
			return fmt.Errorf("process.rlimits[%d]: %s soft limit %d exceeds the hard limit %d", i, r.Type, r.Soft, r.Hard)
		}
		seen[r.Type] = true
	}
	return nil
}

// RootfsPath returns the absolute host path of the spec's root filesystem:
// root.path itself when absolute, else joined to bundleDir.
func RootfsPath(spec *specs.Spec, bundleDir string) string {
	if spec.Root == nil {
		return ""
	}
	if filepath.IsAbs(spec.Root.Path) {
		return filepath.Clean(spec.Root.Path)
	}
	return filepath.Join(bundleDir, spec.Root.Path)
}

// IsBindMount reports whether m is a bind mount: type "bind", or a "bind" or
// "rbind" option (runc accepts either).
func IsBindMount(m specs.Mount) bool {
	if m.Type == "bind" {
		return true
	}
	for _, o := range m.Options {
		if o == "bind" || o == "rbind" {
			return true
		}
	}
	return false
}

// IsReadOnlyMount reports whether mount options ask for read-only: the last
// of "ro" and "rw" wins, as with mount(8).
func IsReadOnlyMount(options []string) bool {
	ro := false
	for _, o := range options {
		switch o {
		case "ro":
			ro = true
		case "rw":
			ro = false
		}
	}
	return ro
}

// WriteSpec writes spec as indented JSON to <bundleDir>/config.json. Like
// runc it refuses to replace an existing file.
func WriteSpec(bundleDir string, spec *specs.Spec) error {
	data, err := json.MarshalIndent(spec, "", "\t")
	if err != nil {
		return fmt.Errorf("encoding spec: %w", err)
	}
	path := filepath.Join(bundleDir, ConfigFile)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("File %s exists. Remove it first", path)
	}
	if err != nil {
		return fmt.Errorf("writing spec %q: %w", path, pathErr(err))
	}
	if _, err := f.Write(append(data, '\n')); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("writing spec %q: %w", path, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return fmt.Errorf("writing spec %q: %w", path, err)
	}
	return nil
}

// pathErr strips the operation and path from an *fs.PathError, whose caller
// already names the path, leaving e.g. "no such file or directory".
func pathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
