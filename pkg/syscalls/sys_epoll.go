package syscalls

import (
	"encoding/binary"
	"time"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/fs/epoll"
	"bulwark.dev/pkg/kernel"
)

// epoll: epoll_create, epoll_create1, epoll_ctl, epoll_wait, epoll_pwait,
// epoll_pwait2. The instance is pkg/fs/epoll.

func init() {
	register(linux.SYS_EPOLL_CREATE, sysEpollCreate, kernel.Int)
	register(linux.SYS_EPOLL_CREATE1, sysEpollCreate1, kernel.Hex)
	register(linux.SYS_EPOLL_CTL, sysEpollCtl, kernel.FD, kernel.Int, kernel.FD, kernel.Hex)
	register(linux.SYS_EPOLL_WAIT, sysEpollWait, kernel.FD, kernel.Hex, kernel.Int, kernel.Int)
	register(linux.SYS_EPOLL_PWAIT, sysEpollPwait, kernel.FD, kernel.Hex, kernel.Int, kernel.Int, kernel.Hex, kernel.Int)
	register(linux.SYS_EPOLL_PWAIT2, sysEpollPwait2, kernel.FD, kernel.Hex, kernel.Int, kernel.Hex, kernel.Hex, kernel.Int)
}

// maxEpollEvents is Linux's EP_MAX_EVENTS: INT_MAX / sizeof(epoll_event).
const maxEpollEvents = (1<<31 - 1) / linux.SizeofEpollEvent

// sysEpollCreate: epoll_create(size); size is only checked.
func sysEpollCreate(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	if int32(a[0]) <= 0 {
		return 0, linux.EINVAL
	}
	return installFile(t, epoll.NewFile(t), false)
}

// sysEpollCreate1: epoll_create1(flags); only EPOLL_CLOEXEC.
func sysEpollCreate1(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	flags := uint32(a[0])
	if flags&^linux.EPOLL_CLOEXEC != 0 {
		return 0, linux.EINVAL
	}
	return installFile(t, epoll.NewFile(t), flags&linux.EPOLL_CLOEXEC != 0)
}

func decodeEpollEvent(b []byte) epoll.Event {
	return epoll.Event{Events: binary.LittleEndian.Uint32(b), Data: binary.LittleEndian.Uint64(b[4:])}
}

func encodeEpollEvents(evs []epoll.Event) []byte {
	b := make([]byte, len(evs)*linux.SizeofEpollEvent)
	for i, ev := range evs {
		e := b[i*linux.SizeofEpollEvent:]
		binary.LittleEndian.PutUint32(e, ev.Events)
		binary.LittleEndian.PutUint64(e[4:], ev.Data)
	}
	return b
}

// sysEpollCtl: epoll_ctl(epfd, op, fd, event).
func sysEpollCtl(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	op := int(int32(a[1]))
	var ev epoll.Event
	if op != linux.EPOLL_CTL_DEL {
		var b [linux.SizeofEpollEvent]byte
		if err := copyInAll(t, a[3], b[:]); err != nil {
			return 0, err
		}
		ev = decodeEpollEvent(b[:])
	}
	epf, err := getFile(t, a[0])
	if err != nil {
		return 0, err
	}
	defer epf.DecRef()
	f, err := getFile(t, a[2])
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	if epf.IsPath() || f.IsPath() {
		return 0, linux.EBADF
	}
	ep, ok := epoll.FromFile(epf)
	if !ok {
		return 0, linux.EINVAL
	}
	return 0, ep.Ctl(op, f, int32(a[2]), ev)
}

// epollWait is the common part of the epoll_wait family.
func epollWait(t *kernel.Task, epfd, addr uintptr, max int32, deadline time.Time, mask *linux.SignalSet) (uintptr, error) {
	if max <= 0 || max > maxEpollEvents {
		return 0, linux.EINVAL
	}
	f, err := getFile(t, epfd)
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	ep, ok := epoll.FromFile(f)
	if !ok || f.IsPath() {
		return 0, linux.EINVAL
	}
	return withSigmask(t, mask, func() (uintptr, error) {
		evs, err := ep.Wait(t, int(max), deadline)
		if err != nil {
			return 0, err
		}
		if err := copyOutAll(t, addr, encodeEpollEvents(evs)); err != nil {
			return 0, err
		}
		return uintptr(len(evs)), nil
	})
}

// msDeadline turns a millisecond timeout into a deadline: negative waits
// forever (zero deadline), 0 does not wait.
func msDeadline(ms int32) time.Time {
	if ms < 0 {
		return time.Time{}
	}
	return time.Now().Add(time.Duration(ms) * time.Millisecond)
}

// sysEpollWait: epoll_wait(epfd, events, maxevents, timeout_ms).
func sysEpollWait(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return epollWait(t, a[0], a[1], int32(a[2]), msDeadline(int32(a[3])), nil)
}

// sysEpollPwait: epoll_pwait(epfd, events, maxevents, timeout_ms, sigmask,
// sigsetsize).
func sysEpollPwait(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	mask, err := copySigmask(t, a[4], a[5])
	if err != nil {
		return 0, err
	}
	return epollWait(t, a[0], a[1], int32(a[2]), msDeadline(int32(a[3])), mask)
}

// sysEpollPwait2: epoll_pwait2(epfd, events, maxevents, timespec, sigmask,
// sigsetsize); a NULL timespec waits forever.
func sysEpollPwait2(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	deadline, _, err := timespecDeadline(t, a[3])
	if err != nil {
		return 0, err
	}
	mask, err := copySigmask(t, a[4], a[5])
	if err != nil {
		return 0, err
	}
	return epollWait(t, a[0], a[1], int32(a[2]), deadline, mask)
}
