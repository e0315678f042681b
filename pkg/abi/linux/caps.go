package linux

// Versions of the capget(2)/capset(2) header.
const (
	LINUX_CAPABILITY_VERSION_1 = 0x19980330
	LINUX_CAPABILITY_VERSION_2 = 0x20071026
	LINUX_CAPABILITY_VERSION_3 = 0x20080522
)

// CapUserHeader is struct __user_cap_header_struct.
type CapUserHeader struct {
	Version uint32
	PID     int32
}

// CapUserData is struct __user_cap_data_struct: one 32-bit word of each set.
type CapUserData struct {
	Effective, Permitted, Inheritable uint32
}

// Capability prctl options.
const (
	PR_CAPBSET_DROP   = 24
	PR_GET_SECUREBITS = 27
	PR_SET_SECUREBITS = 28
	PR_CAP_AMBIENT    = 47

	PR_CAP_AMBIENT_IS_SET    = 1
	PR_CAP_AMBIENT_RAISE     = 2
	PR_CAP_AMBIENT_LOWER     = 3
	PR_CAP_AMBIENT_CLEAR_ALL = 4
)

// Secure bits (prctl PR_SET_SECUREBITS); each bit's lock is the next bit.
const (
	SECBIT_NOROOT                      = 1 << 0
	SECBIT_NOROOT_LOCKED               = 1 << 1
	SECBIT_NO_SETUID_FIXUP             = 1 << 2
	SECBIT_NO_SETUID_FIXUP_LOCKED      = 1 << 3
	SECBIT_KEEP_CAPS                   = 1 << 4
	SECBIT_KEEP_CAPS_LOCKED            = 1 << 5
	SECBIT_NO_CAP_AMBIENT_RAISE        = 1 << 6
	SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED = 1 << 7

	// SECURE_ALL_BITS are the settable bits, SECURE_ALL_LOCKS their locks.
	SECURE_ALL_BITS  = SECBIT_NOROOT | SECBIT_NO_SETUID_FIXUP | SECBIT_KEEP_CAPS | SECBIT_NO_CAP_AMBIENT_RAISE
	SECURE_ALL_LOCKS = SECURE_ALL_BITS << 1
)
