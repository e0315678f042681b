package kernel

import (
	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/kernel/auth"
)

// Capability changes of a task (capset(2) and the capability prctls). Each
// builds new credentials from the current ones and installs them whole.

// CapSets are the three capability sets capget/capset exchange.
type CapSets struct {
	Effective, Permitted, Inheritable uint64
}

// SetCapabilities implements capset(2) on the task itself. Without
// CAP_SETPCAP the inheritable set may only gain capabilities that are
// permitted; it never gains one outside the bounding set; the permitted set
// may only shrink and the effective set must be a subset of the new
// permitted set. Ambient capabilities no longer both permitted and
// inheritable are dropped.
func (t *Task) SetCapabilities(s CapSets) error {
	old := t.Credentials()
	s.Effective &= auth.AllCaps
	s.Permitted &= auth.AllCaps
	s.Inheritable &= auth.AllCaps
	allowedInh := old.InheritableCaps | old.PermittedCaps
	if old.HasCapability(auth.CapSetpcap) {
		allowedInh = auth.AllCaps
	}
	switch {
	case s.Inheritable&^allowedInh != 0,
		s.Inheritable&^(old.InheritableCaps|old.BoundingCaps) != 0,
		s.Permitted&^old.PermittedCaps != 0,
		s.Effective&^s.Permitted != 0:
		return linux.EPERM
	}
	c := old.Fork()
	c.EffectiveCaps, c.PermittedCaps, c.InheritableCaps = s.Effective, s.Permitted, s.Inheritable
	c.AmbientCaps &= c.PermittedCaps & c.InheritableCaps
	t.SetCredentials(c)
	return nil
}

// DropBoundingCap implements prctl(PR_CAPBSET_DROP): removing cap from the
// bounding set needs CAP_SETPCAP.
func (t *Task) DropBoundingCap(cap uint64) error {
	if !auth.ValidCap(cap) {
		return linux.EINVAL
	}
	old := t.Credentials()
	if !old.HasCapability(auth.CapSetpcap) {
		return linux.EPERM
	}
	c := old.Fork()
	c.BoundingCaps &^= 1 << cap
	t.SetCredentials(c)
	return nil
}

// RaiseAmbientCap implements PR_CAP_AMBIENT_RAISE: cap must be permitted
// and inheritable, and SECBIT_NO_CAP_AMBIENT_RAISE unset.
func (t *Task) RaiseAmbientCap(cap uint64) error {
	if !auth.ValidCap(cap) {
		return linux.EINVAL
	}
	old := t.Credentials()
	bit := uint64(1) << cap
	if old.PermittedCaps&bit == 0 || old.InheritableCaps&bit == 0 ||
		old.SecureBits&linux.SECBIT_NO_CAP_AMBIENT_RAISE != 0 {
		return linux.EPERM
	}
	c := old.Fork()
	c.AmbientCaps |= bit
	t.SetCredentials(c)
	return nil
}

// LowerAmbientCaps removes the capabilities of mask from the ambient set
// (PR_CAP_AMBIENT_LOWER and CLEAR_ALL).
func (t *Task) LowerAmbientCaps(mask uint64) {
	old := t.Credentials()
	if old.AmbientCaps&mask == 0 {
		return
	}
	c := old.Fork()
	c.AmbientCaps &^= mask
	t.SetCredentials(c)
}

// SetSecureBits implements PR_SET_SECUREBITS: it needs CAP_SETPCAP, cannot
// change a locked bit, unset a lock, or set an unknown bit.
func (t *Task) SetSecureBits(bits uint32) error {
	old := t.Credentials()
	locked := (old.SecureBits & linux.SECURE_ALL_LOCKS) >> 1
	switch {
	case locked&(old.SecureBits^bits) != 0,
		old.SecureBits&linux.SECURE_ALL_LOCKS&^bits != 0,
		bits&^uint32(linux.SECURE_ALL_BITS|linux.SECURE_ALL_LOCKS) != 0,
		!old.HasCapability(auth.CapSetpcap):
		return linux.EPERM
	}
	c := old.Fork()
	c.SecureBits = bits
	t.SetCredentials(c)
	return nil
}

// SetKeepCaps implements PR_SET_KEEPCAPS (SECBIT_KEEP_CAPS, no privilege
// needed unless the bit is locked).
func (t *Task) SetKeepCaps(keep bool) error {
	old := t.Credentials()
	if old.SecureBits&linux.SECBIT_KEEP_CAPS_LOCKED != 0 {
		return linux.EPERM
	}
	c := old.Fork()
	c.SecureBits &^= linux.SECBIT_KEEP_CAPS
	if keep {
		c.SecureBits |= linux.SECBIT_KEEP_CAPS
	}
	t.SetCredentials(c)
	return nil
}
