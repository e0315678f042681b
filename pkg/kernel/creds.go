package kernel

import (
	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/kernel/auth"
)

// noID is the -1 that leaves an id unchanged in setre*id/setres*id.
const noID = ^uint32(0)

// fixCaps applies Linux's capability rules after a uid change: losing
// every root uid clears the ambient set and, without SECBIT_KEEP_CAPS, the
// permitted and effective sets; an effective uid leaving 0 clears the
// effective set and one becoming 0 restores it from the permitted set.
// SECBIT_NO_SETUID_FIXUP turns all of this off.
func fixCaps(old, c *auth.Credentials) {
	if old.SecureBits&linux.SECBIT_NO_SETUID_FIXUP != 0 {
		return
	}
	wasRoot := old.RealUID == 0 || old.EffectiveUID == 0 || old.SavedUID == 0
	isRoot := c.RealUID == 0 || c.EffectiveUID == 0 || c.SavedUID == 0
	if wasRoot && !isRoot {
		if old.SecureBits&linux.SECBIT_KEEP_CAPS == 0 {
			c.PermittedCaps, c.EffectiveCaps = 0, 0
		}
		c.AmbientCaps = 0
	}
	if old.EffectiveUID == 0 && c.EffectiveUID != 0 {
		c.EffectiveCaps = 0
	}
	if old.EffectiveUID != 0 && c.EffectiveUID == 0 {
		c.EffectiveCaps = c.PermittedCaps
	}
}

// SetRESUID implements setresuid(2) (noID keeps a value). Without
// CAP_SETUID each new id must be one of the current real, effective or
// saved uids.
func (t *Task) SetRESUID(r, e, s uint32) error {
	old := t.Credentials()
	if !old.HasCapability(auth.CapSetuid) {
		for _, id := range []uint32{r, e, s} {
			if id != noID && id != old.RealUID && id != old.EffectiveUID && id != old.SavedUID {
				return linux.EPERM
			}
		}
	}
	return t.setUIDsUnchecked(r, e, s)
}

// SetREUID implements setreuid(2).
func (t *Task) SetREUID(r, e uint32) error {
	old := t.Credentials()
	if !old.HasCapability(auth.CapSetuid) {
		if r != noID && r != old.RealUID && r != old.EffectiveUID {
			return linux.EPERM
		}
		if e != noID && e != old.RealUID && e != old.EffectiveUID && e != old.SavedUID {
			return linux.EPERM
		}
	}
	s := noID
	// The saved uid follows the effective one when the real uid is set or
	// the effective uid differs from the old real uid.
	if r != noID || (e != noID && e != old.RealUID) {
		s = e
		if e == noID {
			s = old.EffectiveUID
		}
	}
	return t.setUIDsUnchecked(r, e, s)
}

// SetUID implements setuid(2): with CAP_SETUID every uid changes, else only
// the effective one (to the real or saved uid).
func (t *Task) SetUID(uid uint32) error {
	if uid == noID {
		return linux.EINVAL
	}
	old := t.Credentials()
	if old.HasCapability(auth.CapSetuid) {
		return t.setUIDsUnchecked(uid, uid, uid)
	}
	if uid != old.RealUID && uid != old.SavedUID {
		return linux.EPERM
	}
	return t.setUIDsUnchecked(noID, uid, noID)
}

func (t *Task) setUIDsUnchecked(r, e, s uint32) error {
	old := t.Credentials()
	c := old.Fork()
	if r != noID {
		c.RealUID = r
	}
	if e != noID {
		c.EffectiveUID = e
	}
	if s != noID {
		c.SavedUID = s
	}
	c.FSUID = c.EffectiveUID
	fixCaps(old, c)
	t.SetCredentials(c)
	return nil
}

// SetRESGID implements setresgid(2).
func (t *Task) SetRESGID(r, e, s uint32) error {
	old := t.Credentials()
	if !old.HasCapability(auth.CapSetgid) {
		for _, id := range []uint32{r, e, s} {
			if id != noID && id != old.RealGID && id != old.EffectiveGID && id != old.SavedGID {
				return linux.EPERM
			}
		}
	}
	t.setGIDsUnchecked(r, e, s)
	return nil
}

// SetREGID implements setregid(2).
func (t *Task) SetREGID(r, e uint32) error {
	old := t.Credentials()
	if !old.HasCapability(auth.CapSetgid) {
		if r != noID && r != old.RealGID && r != old.EffectiveGID {
			return linux.EPERM
		}
		if e != noID && e != old.RealGID && e != old.EffectiveGID && e != old.SavedGID {
			return linux.EPERM
		}
	}
	s := noID
	if r != noID || (e != noID && e != old.RealGID) {
		s = e
		if e == noID {
			s = old.EffectiveGID
		}
	}
	t.setGIDsUnchecked(r, e, s)
	return nil
}

// SetGID implements setgid(2).
func (t *Task) SetGID(gid uint32) error {
	if gid == noID {
		return linux.EINVAL
	}
	old := t.Credentials()
	if old.HasCapability(auth.CapSetgid) {
		t.setGIDsUnchecked(gid, gid, gid)
		return nil
	}
	if gid != old.RealGID && gid != old.SavedGID {
		return linux.EPERM
	}
	t.setGIDsUnchecked(noID, gid, noID)
	return nil
}

func (t *Task) setGIDsUnchecked(r, e, s uint32) {
	c := t.Credentials().Fork()
	if r != noID {
		c.RealGID = r
	}
	if e != noID {
		c.EffectiveGID = e
	}
	if s != noID {
		c.SavedGID = s
	}
	c.FSGID = c.EffectiveGID
	t.SetCredentials(c)
}

// SetGroups implements setgroups(2) (CAP_SETGID required).
func (t *Task) SetGroups(gids []uint32) error {
	old := t.Credentials()
	if !old.HasCapability(auth.CapSetgid) {
		return linux.EPERM
	}
	c := old.Fork()
	c.ExtraGIDs = append([]uint32(nil), gids...)
	t.SetCredentials(c)
	return nil
}
