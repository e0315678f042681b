package boot

import (
	"bulwark.dev/pkg/kernel/auth"
	"bulwark.dev/pkg/specutils"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// capSet turns capability names into a bit set. Unknown names are
// returned separately: runsc create refuses them
// (specutils.ValidateCapabilities), so only a spec that bypassed it, such
// as an exec's process, can have some.
func capSet(names []string) (set uint64, unknown []string) {
	for _, n := range names {
		i, ok := specutils.CapabilityNumber(n)
		if !ok {
			unknown = append(unknown, n)
			continue
		}
		set |= 1 << i
	}
	return set, unknown
}

// applyCaps sets c's capability sets from the spec's and returns the
// names it did not know. Without a capabilities section c keeps its
// defaults.
func applyCaps(c *auth.Credentials, caps *specs.LinuxCapabilities) []string {
	if caps == nil {
		return nil
	}
	var unknown []string
	for _, s := range []struct {
		dst   *uint64
		names []string
	}{
		{&c.EffectiveCaps, caps.Effective}, {&c.PermittedCaps, caps.Permitted},
		{&c.InheritableCaps, caps.Inheritable}, {&c.BoundingCaps, caps.Bounding},
		{&c.AmbientCaps, caps.Ambient},
	} {
		var u []string
		*s.dst, u = capSet(s.names)
		unknown = append(unknown, u...)
	}
	return unknown
}
