package kernel

import (
	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/kernel/auth"
	"bulwark.dev/pkg/loader"
	"bulwark.dev/pkg/vfs"
)

// Credentials across execve.
//
// Linux computes a program's credentials from the file it runs
// (bprm_fill_uid, cap_bprm_creds_from_file): a set-user-ID file gives its
// owner as effective (and saved) uid, a set-group-ID one with group
// execute its group as effective gid, unless the mount is nosuid or the
// process has no_new_privs. Capabilities are recomputed: without file
// capabilities (this kernel has none), root (effective or real uid 0,
// unless SECBIT_NOROOT) runs as if every file capability were set, so its
// permitted set becomes bounding | inheritable and, when the effective uid
// is 0, its effective set the permitted one; anybody else keeps only the
// ambient set, which a set-ID program loses.

// execCredentials returns the credentials a program with attributes a
// runs with, and whether it gained privileges (AT_SECURE). honorSetID is
// false on nosuid mounts and under no_new_privs.
func execCredentials(old *auth.Credentials, a vfs.Attr, honorSetID bool) (*auth.Credentials, bool) {
	c := old.Fork()
	if honorSetID {
		if a.Mode&linux.S_ISUID != 0 {
			c.EffectiveUID = a.UID
		}
		// Set-group-ID without group execute marks mandatory locking.
		if a.Mode&(linux.S_ISGID|0o010) == linux.S_ISGID|0o010 {
			c.EffectiveGID = a.GID
		}
	}
	// A program runs "set-ID" when its effective ids differ from the
	// caller's real ones (also when the caller had set only its
	// effective ids apart).
	setID := c.EffectiveUID != old.RealUID || c.EffectiveGID != old.RealGID
	c.SavedUID, c.FSUID = c.EffectiveUID, c.EffectiveUID
	c.SavedGID, c.FSGID = c.EffectiveGID, c.EffectiveGID

	if setID {
		c.AmbientCaps = 0
	}
	c.PermittedCaps, c.EffectiveCaps = 0, 0
	effective := false
	if old.SecureBits&linux.SECBIT_NOROOT == 0 && (c.EffectiveUID == 0 || c.RealUID == 0) {
		c.PermittedCaps = old.BoundingCaps | old.InheritableCaps
		effective = c.EffectiveUID == 0
	}
	c.PermittedCaps |= c.AmbientCaps
	if effective {
		c.EffectiveCaps = c.PermittedCaps
	} else {
		c.EffectiveCaps = c.AmbientCaps
	}
	secure := setID || (c.RealUID != 0 && (effective || c.PermittedCaps&^c.AmbientCaps != 0))
	return c, secure
}

// setIDHook returns the loader hook that computes the new program's
// credentials into *out from the file it loads.
func (t *Task) setIDHook(out **auth.Credentials) func(loader.File) (loader.Identity, error) {
	return func(lf loader.File) (loader.Identity, error) {
		f, ok := lf.(execFile)
		if !ok {
			return loader.Identity{}, linux.EINVAL
		}
		a, err := f.Stat(t)
		if err != nil {
			return loader.Identity{}, err
		}
		honor := !t.NoNewPrivs()
		if m := f.Location().Mount; m != nil && m.Flags()&vfs.MountNoSuid != 0 {
			honor = false
		}
		c, secure := execCredentials(t.Credentials(), vfs.Attr{Mode: uint32(a.Mode), UID: a.UID, GID: a.GID}, honor)
		*out = c
		return loader.Identity{UID: c.RealUID, EUID: c.EffectiveUID, GID: c.RealGID, EGID: c.EffectiveGID, Secure: secure}, nil
	}
}

// installExecCredentials installs the credentials computed for a new
// program; a program that changed identity is no longer dumpable (Linux
// clears it for set-ID programs).
func (t *Task) installExecCredentials(c *auth.Credentials) {
	if c == nil {
		return
	}
	old := t.Credentials()
	if c.EffectiveUID != old.EffectiveUID || c.EffectiveGID != old.EffectiveGID {
		t.tg.limitsMu.Lock()
		t.tg.dumpable = 0
		t.tg.limitsMu.Unlock()
	}
	t.SetCredentials(c)
}
