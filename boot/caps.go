package boot

import (
	"bulwark.dev/pkg/kernel/auth"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// capNames lists Linux capability names by number.
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

// capSet turns capability names into a bit set. Unknown names are
// returned separately (runc ignores them with a warning).
func capSet(names []string) (set uint64, unknown []string) {
	for _, n := range names {
		i := indexOf(capNames, n)
		if i < 0 {
			unknown = append(unknown, n)
			continue
		}
		set |= 1 << i
	}
	return set, unknown
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

// applyCaps sets c's capability sets from the spec's. Without a
// capabilities section c keeps its defaults.
func applyCaps(c *auth.Credentials, caps *specs.LinuxCapabilities) []string {
	if caps == nil {
		return nil
	}
	var unknown, u []string
	c.EffectiveCaps, u = capSet(caps.Effective)
	unknown = append(unknown, u...)
	c.PermittedCaps, u = capSet(caps.Permitted)
	unknown = append(unknown, u...)
	c.InheritableCaps, u = capSet(caps.Inheritable)
	unknown = append(unknown, u...)
	c.BoundingCaps, u = capSet(caps.Bounding)
	unknown = append(unknown, u...)
	c.AmbientCaps, u = capSet(caps.Ambient)
	return append(unknown, u...)
}
