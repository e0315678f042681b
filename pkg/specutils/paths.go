package specutils

import (
	"fmt"
	"path/filepath"
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// DeviceTypes are the linux.devices types a spec may use: character,
// unbuffered character, block and FIFO.
var DeviceTypes = []string{"c", "u", "b", "p"}

// validateLinuxPaths checks the paths the sandbox applies inside the
// container's tree: masked and read-only paths and device nodes must be
// absolute, devices of a known type.
func validateLinuxPaths(l *specs.Linux) error {
	if l == nil {
		return nil
	}
	for _, list := range []struct {
		field string
		paths []string
	}{{"maskedPaths", l.MaskedPaths}, {"readonlyPaths", l.ReadonlyPaths}} {
		for i, p := range list.paths {
			if !filepath.IsAbs(p) {
				return fmt.Errorf("linux.%s[%d] %q must be an absolute path", list.field, i, p)
			}
		}
	}
	for i, d := range l.Devices {
		if !filepath.IsAbs(d.Path) {
			return fmt.Errorf("linux.devices[%d].path %q must be an absolute path", i, d.Path)
		}
		if !slices.Contains(DeviceTypes, d.Type) {
			return fmt.Errorf("linux.devices[%d] %q: unknown device type %q (want c, u, b or p)", i, d.Path, d.Type)
		}
	}
	return nil
}
