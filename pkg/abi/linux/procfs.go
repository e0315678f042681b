package linux

// Magic numbers of the special filesystems (statfs f_type).
const (
	SYSFS_MAGIC = 0x62656572
)
