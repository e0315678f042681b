package linux

// epoll(7), eventfd(2) and select(2) ABI.

// epoll_event.events bits beyond the POLL* ones (the EPOLLIN... values equal
// the POLL* values of file.go).
const (
	EPOLLIN        = 0x1
	EPOLLPRI       = 0x2
	EPOLLOUT       = 0x4
	EPOLLERR       = 0x8
	EPOLLHUP       = 0x10
	EPOLLRDNORM    = 0x40
	EPOLLRDBAND    = 0x80
	EPOLLWRNORM    = 0x100
	EPOLLWRBAND    = 0x200
	EPOLLMSG       = 0x400
	EPOLLRDHUP     = 0x2000
	EPOLLEXCLUSIVE = 1 << 28
	EPOLLWAKEUP    = 1 << 29
	EPOLLONESHOT   = 1 << 30
	EPOLLET        = 1 << 31
)

// epoll_ctl operations.
const (
	EPOLL_CTL_ADD = 1
	EPOLL_CTL_DEL = 2
	EPOLL_CTL_MOD = 3
)

// EPOLL_CLOEXEC is epoll_create1's only flag (O_CLOEXEC).
const EPOLL_CLOEXEC = O_CLOEXEC

// SizeofEpollEvent is the size of the packed struct epoll_event on x86-64
// (u32 events, u64 data).
const SizeofEpollEvent = 12

// EP_MAX_NESTS is how deep epoll instances may watch each other.
const EP_MAX_NESTS = 4

// eventfd2 flags.
const (
	EFD_SEMAPHORE = 0x1
	EFD_NONBLOCK  = O_NONBLOCK
	EFD_CLOEXEC   = O_CLOEXEC
)

// SizeofPollFD is the size of struct pollfd (i32 fd, i16 events, i16
// revents).
const SizeofPollFD = 8

// FD_SETSIZE is the glibc fd_set size in bits; the kernel itself accepts any
// nfds (an fd_set is an array of 64-bit words, fd n is bit n%64 of word n/64).
const FD_SETSIZE = 1024
