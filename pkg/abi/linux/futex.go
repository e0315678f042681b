package linux

// futex(2) operations and flags.
const (
	FUTEX_WAIT            = 0
	FUTEX_WAKE            = 1
	FUTEX_FD              = 2
	FUTEX_REQUEUE         = 3
	FUTEX_CMP_REQUEUE     = 4
	FUTEX_WAKE_OP         = 5
	FUTEX_LOCK_PI         = 6
	FUTEX_UNLOCK_PI       = 7
	FUTEX_TRYLOCK_PI      = 8
	FUTEX_WAIT_BITSET     = 9
	FUTEX_WAKE_BITSET     = 10
	FUTEX_WAIT_REQUEUE_PI = 11
	FUTEX_CMP_REQUEUE_PI  = 12
	FUTEX_LOCK_PI2        = 13

	FUTEX_PRIVATE_FLAG   = 128
	FUTEX_CLOCK_REALTIME = 256
	FUTEX_CMD_MASK       = ^(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME)

	FUTEX_BITSET_MATCH_ANY = 0xffffffff
)

// FUTEX_WAKE_OP operations (bits 28-31 of val3) and comparisons (24-27).
const (
	FUTEX_OP_SET         = 0
	FUTEX_OP_ADD         = 1
	FUTEX_OP_OR          = 2
	FUTEX_OP_ANDN        = 3
	FUTEX_OP_XOR         = 4
	FUTEX_OP_OPARG_SHIFT = 8

	FUTEX_OP_CMP_EQ = 0
	FUTEX_OP_CMP_NE = 1
	FUTEX_OP_CMP_LT = 2
	FUTEX_OP_CMP_LE = 3
	FUTEX_OP_CMP_GT = 4
	FUTEX_OP_CMP_GE = 5
)

// Robust futex word bits.
const (
	FUTEX_WAITERS    = 0x80000000
	FUTEX_OWNER_DIED = 0x40000000
	FUTEX_TID_MASK   = 0x3fffffff

	// ROBUST_LIST_LIMIT bounds the robust list walk at thread exit.
	ROBUST_LIST_LIMIT = 2048
)

// RobustListHead is struct robust_list_head.
type RobustListHead struct {
	Next          uint64
	FutexOffset   int64
	ListOpPending uint64
}
