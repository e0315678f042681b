package specutils

import (
	"fmt"
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// capNames lists the Linux capability names by number (CAP_CHOWN is 0).
var capNames = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
	"CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP",
	"CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
	"CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
	"CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
	"CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
	"CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD",
	"CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP",
	"CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
}

// CapabilityNumber returns the number of the capability called name
// ("CAP_SYS_ADMIN"), and false when Linux has no such capability.
func CapabilityNumber(name string) (int, bool) {
	i := slices.Index(capNames, name)
	return i, i >= 0
}

// capSets names the five capability sets of a spec for error messages.
func capSets(c *specs.LinuxCapabilities) []struct {
	name  string
	names []string
} {
	return []struct {
		name  string
		names []string
	}{
		{"bounding", c.Bounding}, {"effective", c.Effective}, {"inheritable", c.Inheritable},
		{"permitted", c.Permitted}, {"ambient", c.Ambient},
	}
}

// ValidateCapabilities fails on the first capability name Linux does not
// have, as runc does: a spec that asks for something the kernel cannot
// give must not create a container. A nil c is valid.
func ValidateCapabilities(c *specs.LinuxCapabilities) error {
	if c == nil {
		return nil
	}
	for _, set := range capSets(c) {
		for i, n := range set.names {
			if _, ok := CapabilityNumber(n); !ok {
				return fmt.Errorf("process.capabilities.%s[%d]: unknown capability %q", set.name, i, n)
			}
		}
	}
	return nil
}
