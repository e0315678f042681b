package linux

// Memory management ABI beyond mmap: madvise advice, mremap, msync and
// mlockall flags, memfd_create flags.

// Advice for madvise(2).
const (
	MADV_NORMAL      = 0
	MADV_RANDOM      = 1
	MADV_SEQUENTIAL  = 2
	MADV_WILLNEED    = 3
	MADV_DONTNEED    = 4
	MADV_FREE        = 8
	MADV_REMOVE      = 9
	MADV_DONTFORK    = 10
	MADV_DOFORK      = 11
	MADV_MERGEABLE   = 12
	MADV_UNMERGEABLE = 13
	MADV_HUGEPAGE    = 14
	MADV_NOHUGEPAGE  = 15
	MADV_DONTDUMP    = 16
	MADV_DODUMP      = 17
	MADV_WIPEONFORK  = 18
	MADV_KEEPONFORK  = 19
	MADV_COLD        = 20
	MADV_PAGEOUT     = 21
	MADV_HWPOISON    = 100
)

// Flags for mremap(2).
const (
	MREMAP_MAYMOVE   = 1
	MREMAP_FIXED     = 2
	MREMAP_DONTUNMAP = 4
)

// Flags for msync(2).
const (
	MS_ASYNC      = 1
	MS_INVALIDATE = 2
	MS_SYNC       = 4
)

// Flags for mlockall(2) and mlock2(2).
const (
	MCL_CURRENT   = 1
	MCL_FUTURE    = 2
	MCL_ONFAULT   = 4
	MLOCK_ONFAULT = 1
)

// Flags for memfd_create(2).
const (
	MFD_CLOEXEC       = 0x1
	MFD_ALLOW_SEALING = 0x2
	MFD_HUGETLB       = 0x4
	MFD_NOEXEC_SEAL   = 0x8
	MFD_EXEC          = 0x10
)

// MFD_NAME_MAX is the longest name memfd_create accepts (249 bytes: NAME_MAX
// less the "memfd:" prefix).
const MFD_NAME_MAX = 249
