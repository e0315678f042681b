// Package auth models credentials: user and group IDs and capabilities.
package auth

// Credentials of a task. A Credentials value is immutable once shared: code
// that changes credentials makes a copy with Fork, edits it, then installs it.
type Credentials struct {
	RealUID, EffectiveUID, SavedUID, FSUID uint32
	RealGID, EffectiveGID, SavedGID, FSGID uint32
	ExtraGIDs                              []uint32

	// Capability sets, bit n for capability n (Linux numbering).
	PermittedCaps, InheritableCaps, EffectiveCaps, BoundingCaps, AmbientCaps uint64

	// SecureBits are the prctl(PR_SET_SECUREBITS) flags (SECBIT_*).
	SecureBits uint32
}

// CapLast is the highest capability number Linux defines
// (CAP_CHECKPOINT_RESTORE, /proc/sys/kernel/cap_last_cap).
const CapLast = 40

// AllCaps has every capability Linux defines (0..CapLast) set.
const AllCaps uint64 = 1<<(CapLast+1) - 1

// ValidCap reports whether cap names a capability Linux defines.
func ValidCap(cap uint64) bool { return cap <= CapLast }

// NewRootCredentials returns credentials of uid 0 / gid 0 with all capabilities.
func NewRootCredentials() *Credentials {
	return &Credentials{
		PermittedCaps: AllCaps, EffectiveCaps: AllCaps, BoundingCaps: AllCaps,
	}
}

// NewUserCredentials returns credentials for uid/gid with extra groups and no
// capabilities, or full capabilities when uid is 0.
func NewUserCredentials(uid, gid uint32, extra []uint32) *Credentials {
	c := &Credentials{
		RealUID: uid, EffectiveUID: uid, SavedUID: uid, FSUID: uid,
		RealGID: gid, EffectiveGID: gid, SavedGID: gid, FSGID: gid,
		ExtraGIDs:    append([]uint32(nil), extra...),
		BoundingCaps: AllCaps,
	}
	if uid == 0 {
		c.PermittedCaps, c.EffectiveCaps = AllCaps, AllCaps
	}
	return c
}

// Fork returns a deep copy that may be edited.
func (c *Credentials) Fork() *Credentials {
	n := *c
	n.ExtraGIDs = append([]uint32(nil), c.ExtraGIDs...)
	return &n
}

// HasCapability reports whether cap is in the effective set.
func (c *Credentials) HasCapability(cap uint) bool {
	return c.EffectiveCaps&(1<<cap) != 0
}

// InGroup reports whether gid is the effective (fs) group or a supplementary group.
func (c *Credentials) InGroup(gid uint32) bool {
	if c.FSGID == gid {
		return true
	}
	for _, g := range c.ExtraGIDs {
		if g == gid {
			return true
		}
	}
	return false
}

// Capability numbers used by permission checks.
const (
	CapChown         = 0
	CapDacOverride   = 1
	CapDacReadSearch = 2
	CapFowner        = 3
	CapKill          = 5
	CapSetgid        = 6
	CapSetuid        = 7
	CapSetpcap       = 8
	CapSysAdmin      = 21
	CapSysResource   = 24
)
