package gofer

import (
	"fmt"
	"path/filepath"

	"bulwark.dev/pkg/specutils"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// BindMounts returns the spec's mounts the gofer serves after the root, in
// spec order: every bind mount (Type "bind", or an option "bind" or
// "rbind"). The sandbox's io fds follow the same order: the root's first,
// then one per mount returned here.
func BindMounts(spec *specs.Spec) []specs.Mount {
	if spec == nil {
		return nil
	}
	var out []specs.Mount
	for _, m := range spec.Mounts {
		if specutils.IsBindMount(m) {
			out = append(out, m)
		}
	}
	return out
}

// source is one filesystem the gofer serves.
type source struct {
	path     string // host path, absolute
	readOnly bool
	what     string // for messages: "root" or the mount destination
}

// sources lists what the gofer serves, root first, as the io fds expect.
// forceRO makes every one read-only.
func sources(bundle string, spec *specs.Spec, rootRO, forceRO bool) ([]source, error) {
	if spec.Root == nil || spec.Root.Path == "" {
		return nil, fmt.Errorf("spec has no root.path")
	}
	root := spec.Root.Path
	if !filepath.IsAbs(root) {
		if bundle == "" {
			return nil, fmt.Errorf("root.path %q is relative and no --bundle was given", root)
		}
		root = filepath.Join(bundle, root)
	}
	out := []source{{path: root, readOnly: spec.Root.Readonly || rootRO || forceRO, what: "root"}}
	for _, m := range BindMounts(spec) {
		src := m.Source
		if !filepath.IsAbs(src) {
			if bundle == "" {
				return nil, fmt.Errorf("mount %q: source %q is relative and no --bundle was given", m.Destination, src)
			}
			src = filepath.Join(bundle, src)
		}
		out = append(out, source{path: src, readOnly: specutils.IsReadOnlyMount(m.Options) || forceRO, what: m.Destination})
	}
	return out, nil
}
