package vfs

import (
	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/kernel/auth"
)

// Access bits for permission checks (as in access(2)).
const (
	MayExec  = linux.X_OK
	MayWrite = linux.W_OK
	MayRead  = linux.R_OK
)

// CheckPermission checks that creds may access a file with attributes a in
// the ways want (MayRead|MayWrite|MayExec): owner, group or other bits,
// CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH. It returns linux.EACCES.
func CheckPermission(creds *auth.Credentials, a Attr, want uint32) error {
	isDir := a.Type() == linux.S_IFDIR
	if creds.HasCapability(auth.CapDacOverride) {
		// Everything but executing a file nobody may execute.
		if want&MayExec == 0 || isDir || a.Mode&0o111 != 0 {
			return nil
		}
	}
	if creds.HasCapability(auth.CapDacReadSearch) {
		rest := want &^ MayRead
		if isDir {
			rest &^= MayExec
		}
		if rest == 0 {
			return nil
		}
	}
	var bits uint32
	switch {
	case creds.FSUID == a.UID:
		bits = a.Mode >> 6
	case creds.InGroup(a.GID):
		bits = a.Mode >> 3
	default:
		bits = a.Mode
	}
	if bits&7&want == want {
		return nil
	}
	return linux.EACCES
}

// isOwner reports whether creds own a (or may act as the owner with
// CAP_FOWNER).
func isOwner(creds *auth.Credentials, a Attr) bool {
	return creds.FSUID == a.UID || creds.HasCapability(auth.CapFowner)
}

// checkStickyDelete applies the sticky-bit rule to removing or renaming
// child (attributes c) out of directory dir (attributes d).
func checkStickyDelete(creds *auth.Credentials, d, c Attr) error {
	if d.Mode&linux.S_ISVTX == 0 || creds.FSUID == d.UID || creds.FSUID == c.UID ||
		creds.HasCapability(auth.CapFowner) {
		return nil
	}
	return linux.EPERM
}
