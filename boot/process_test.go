package boot

import (
	"testing"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/kernel"
	"bulwark.dev/pkg/kernel/auth"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestInitArgs(t *testing.T) {
	umask := uint32(0o077)
	spec := &specs.Spec{Process: &specs.Process{
		Args: []string{"sh", "-c", "echo hi"},
		Env:  []string{"PATH=/bin", "HOME=/root"},
		Cwd:  "/work",
		User: specs.User{UID: 1000, GID: 100, AdditionalGids: []uint32{10, 20}, Umask: &umask},
		Rlimits: []specs.POSIXRlimit{
			{Type: "RLIMIT_NOFILE", Soft: 1024, Hard: 4096},
			{Type: "RLIMIT_CORE", Soft: 0, Hard: 0},
		},
		Capabilities: &specs.LinuxCapabilities{
			Bounding:  []string{"CAP_CHOWN", "CAP_KILL", "CAP_NOT_A_CAP"},
			Effective: []string{"CAP_KILL"},
			Permitted: []string{"CAP_KILL", "CAP_SYS_ADMIN"},
		},
	}}
	a, unknown, err := InitArgs(spec)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Argv) != 3 || a.Argv[2] != "echo hi" || a.Filename != "" {
		t.Errorf("argv %q filename %q", a.Argv, a.Filename)
	}
	if len(a.Envv) != 2 || a.WorkingDir != "/work" || a.Umask != 0o077 {
		t.Errorf("env %q cwd %q umask %o", a.Envv, a.WorkingDir, a.Umask)
	}
	c := a.Creds
	if c.RealUID != 1000 || c.EffectiveUID != 1000 || c.FSGID != 100 || len(c.ExtraGIDs) != 2 {
		t.Errorf("creds %+v", c)
	}
	if c.BoundingCaps != 1<<auth.CapChown|1<<auth.CapKill || c.EffectiveCaps != 1<<auth.CapKill ||
		c.PermittedCaps != 1<<auth.CapKill|1<<auth.CapSysAdmin || c.InheritableCaps != 0 {
		t.Errorf("caps: bounding %#x effective %#x permitted %#x inheritable %#x",
			c.BoundingCaps, c.EffectiveCaps, c.PermittedCaps, c.InheritableCaps)
	}
	if len(unknown) != 1 || unknown[0] != "CAP_NOT_A_CAP" {
		t.Errorf("unknown caps %q", unknown)
	}
	if a.Limits[linux.RLIMIT_NOFILE] != (kernel.Rlimit{Cur: 1024, Max: 4096}) || len(a.Limits) != 2 {
		t.Errorf("limits %+v", a.Limits)
	}
}

func TestInitArgsDefaults(t *testing.T) {
	a, _, err := InitArgs(&specs.Spec{Process: &specs.Process{Args: []string{"/bin/true"}}})
	if err != nil {
		t.Fatal(err)
	}
	// Root without a capabilities section keeps every capability.
	if a.Umask != 0o022 || a.WorkingDir != "/" || a.Creds.EffectiveCaps != auth.AllCaps {
		t.Errorf("umask %o cwd %q caps %#x", a.Umask, a.WorkingDir, a.Creds.EffectiveCaps)
	}
}

func TestInitArgsErrors(t *testing.T) {
	for name, p := range map[string]*specs.Process{
		"no args":    {},
		"bad rlimit": {Args: []string{"x"}, Rlimits: []specs.POSIXRlimit{{Type: "RLIMIT_BOGUS"}}},
		"soft>hard":  {Args: []string{"x"}, Rlimits: []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 2, Hard: 1}}},
	} {
		if _, _, err := InitArgs(&specs.Spec{Process: p}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, _, err := InitArgs(&specs.Spec{}); err == nil {
		t.Error("nil process accepted")
	}
}
