package linux

// Memory management ABI: page size, mmap/mprotect protections and flags.

// Page geometry on x86-64.
const (
	PageShift = 12
	PageSize  = 1 << PageShift
)

// Protections for mmap(2) and mprotect(2).
const (
	PROT_NONE      = 0x0
	PROT_READ      = 0x1
	PROT_WRITE     = 0x2
	PROT_EXEC      = 0x4
	PROT_GROWSDOWN = 0x01000000
	PROT_GROWSUP   = 0x02000000
)

// Flags for mmap(2).
const (
	MAP_SHARED          = 0x1
	MAP_PRIVATE         = 0x2
	MAP_SHARED_VALIDATE = 0x3
	MAP_TYPE            = 0xf
	MAP_FIXED           = 0x10
	MAP_ANONYMOUS       = 0x20
	MAP_32BIT           = 0x40
	MAP_GROWSDOWN       = 0x100
	MAP_DENYWRITE       = 0x800
	MAP_EXECUTABLE      = 0x1000
	MAP_LOCKED          = 0x2000
	MAP_NORESERVE       = 0x4000
	MAP_POPULATE        = 0x8000
	MAP_NONBLOCK        = 0x10000
	MAP_STACK           = 0x20000
	MAP_HUGETLB         = 0x40000
	MAP_SYNC            = 0x80000
	MAP_FIXED_NOREPLACE = 0x100000
)
