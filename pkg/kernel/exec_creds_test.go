package kernel

import (
	"testing"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/kernel/auth"
	"bulwark.dev/pkg/vfs"
)

func TestExecCredentials(t *testing.T) {
	const (
		netAdmin = 1 << 12
		chown    = 1 << 0
	)
	root := auth.NewRootCredentials()
	user := auth.NewUserCredentials(1000, 1000, nil)
	userCaps := user.Fork() // a user given capabilities (not ambient)
	userCaps.PermittedCaps, userCaps.EffectiveCaps = netAdmin, netAdmin
	userAmbient := userCaps.Fork()
	userAmbient.InheritableCaps, userAmbient.AmbientCaps = netAdmin, netAdmin
	limitedRoot := root.Fork()
	limitedRoot.BoundingCaps = chown
	plain := vfs.Attr{Mode: linux.S_IFREG | 0o755}
	suidRoot := vfs.Attr{Mode: linux.S_IFREG | linux.S_ISUID | 0o755}
	sgid := vfs.Attr{Mode: linux.S_IFREG | linux.S_ISGID | 0o755, GID: 42}
	sgidNoExec := vfs.Attr{Mode: linux.S_IFREG | linux.S_ISGID | 0o705, GID: 42}
	cases := []struct {
		name       string
		old        *auth.Credentials
		attr       vfs.Attr
		honor      bool
		euid, egid uint32
		perm, eff  uint64
		secure     bool
	}{
		{"root keeps its bounding set", root, plain, true, 0, 0, auth.AllCaps, auth.AllCaps, false},
		{"root limited by bounding", limitedRoot, plain, true, 0, 0, chown, chown, false},
		{"user loses non-ambient caps", userCaps, plain, true, 1000, 1000, 0, 0, false},
		{"user keeps ambient caps", userAmbient, plain, true, 1000, 1000, netAdmin, netAdmin, false},
		{"set-user-ID root", user, suidRoot, true, 0, 1000, auth.AllCaps, auth.AllCaps, true},
		{"set-user-ID ignored (nosuid, no_new_privs)", user, suidRoot, false, 1000, 1000, 0, 0, false},
		{"set-user-ID drops ambient", userAmbient, suidRoot, true, 0, 1000, auth.AllCaps, auth.AllCaps, true},
		{"set-group-ID", user, sgid, true, 1000, 42, 0, 0, true},
		{"set-group-ID without group execute", user, sgidNoExec, true, 1000, 1000, 0, 0, false},
	}
	for _, c := range cases {
		got, secure := execCredentials(c.old, c.attr, c.honor)
		if got.EffectiveUID != c.euid || got.SavedUID != c.euid || got.FSUID != c.euid ||
			got.EffectiveGID != c.egid || got.SavedGID != c.egid || got.FSGID != c.egid {
			t.Errorf("%s: uids r/e/s/fs %d/%d/%d/%d gids %d/%d/%d/%d, want euid %d egid %d", c.name,
				got.RealUID, got.EffectiveUID, got.SavedUID, got.FSUID,
				got.RealGID, got.EffectiveGID, got.SavedGID, got.FSGID, c.euid, c.egid)
		}
		if got.PermittedCaps != c.perm || got.EffectiveCaps != c.eff {
			t.Errorf("%s: permitted %#x effective %#x, want %#x %#x", c.name, got.PermittedCaps, got.EffectiveCaps, c.perm, c.eff)
		}
		if secure != c.secure {
			t.Errorf("%s: secure %v, want %v", c.name, secure, c.secure)
		}
		if got.RealUID != c.old.RealUID || got.RealGID != c.old.RealGID {
			t.Errorf("%s: real ids changed", c.name)
		}
	}
	if root.EffectiveCaps != auth.AllCaps || userAmbient.AmbientCaps != netAdmin {
		t.Error("the old credentials were modified")
	}
}
