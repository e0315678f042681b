package conformance

import (
	"os"
	"strings"

	"bulwark.dev/test/testutil"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// privilegedMarker in a program's source gives it Docker's default
// capabilities and no no_new_privs (testutil.NewSpec's spec has three
// capabilities and no_new_privs set): what set-ID programs need.
const privilegedMarker = "conformance: privileged"

// dockerCaps are Docker's default capabilities.
var dockerCaps = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
	"CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
}

// programSpec returns the spec p runs with.
func programSpec(p Program) (*specs.Spec, error) {
	spec := testutil.NewSpec(testutil.SpecOptions{Args: []string{p.Path()}, Rootfs: rootfs})
	src, err := os.ReadFile(p.Src)
	if err != nil {
		return nil, err
	}
	if strings.Contains(string(src), privilegedMarker) {
		spec.Process.NoNewPrivileges = false
		spec.Process.Capabilities = &specs.LinuxCapabilities{
			Bounding: dockerCaps, Effective: dockerCaps, Permitted: dockerCaps,
		}
	}
	return spec, nil
}
