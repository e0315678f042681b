package syscalls

import (
	"encoding/binary"
	"time"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/fs/epoll"
	"bulwark.dev/pkg/kernel"
	"bulwark.dev/pkg/vfs"
)

// I/O multiplexing: poll, ppoll, select, pselect6. The waiting itself is
// epoll.WaitAny on the files' vfs.Waiter channels: no busy polling.

func init() {
	register(linux.SYS_POLL, sysPoll, kernel.Hex, kernel.Int, kernel.Int)
	register(linux.SYS_PPOLL, sysPpoll, kernel.Hex, kernel.Int, kernel.Hex, kernel.Hex, kernel.Int)
	register(linux.SYS_SELECT, sysSelect, kernel.Int, kernel.Hex, kernel.Hex, kernel.Hex, kernel.Hex)
	register(linux.SYS_PSELECT6, sysPselect6, kernel.Int, kernel.Hex, kernel.Hex, kernel.Hex, kernel.Hex, kernel.Hex)
}

// maxPollFDs is RLIMIT_NOFILE (fixed, like the fd table's limit): poll
// with more fds fails with EINVAL.
const maxPollFDs = 1 << 20

// What select's sets wait for (Linux's POLLIN_SET, POLLOUT_SET, POLLEX_SET).
const (
	pollInSet  = linux.POLLRDNORM | linux.POLLRDBAND | linux.POLLIN | linux.POLLHUP | linux.POLLERR
	pollOutSet = linux.POLLWRBAND | linux.POLLWRNORM | linux.POLLOUT | linux.POLLERR
	pollExSet  = linux.POLLPRI
)

// scanFn looks at every watched file once and returns how many are ready.
// With watch it also returns the change channels to sleep on, taken
// before the readiness checks so no change is missed.
type scanFn func(watch bool) (int, []<-chan struct{})

// waitReady runs scan until something is ready, the deadline passes (zero
// deadline: never; one in the past: do not sleep) or a signal arrives
// (linux.ERESTARTNOHAND). After a timeout it looks once more, like Linux.
func waitReady(ctx vfs.Context, deadline time.Time, scan scanFn) (int, error) {
	if n, _ := scan(false); n > 0 {
		return n, nil
	}
	timedOut := !deadline.IsZero() && !time.Now().Before(deadline)
	for !timedOut {
		n, chans := scan(true)
		if n > 0 {
			return n, nil
		}
		switch err := epoll.WaitAny(ctx, chans, deadline); err {
		case nil:
		case linux.ETIMEDOUT:
			timedOut = true
		default:
			return 0, linux.ERESTARTNOHAND
		}
	}
	n, _ := scan(false)
	return n, nil
}

// readiness returns the ready subset of mask (plus POLLERR and POLLHUP,
// which are always reported) of f, and its change channel when watch.
func readiness(f *vfs.File, mask uint32, watch bool) (uint32, <-chan struct{}) {
	mask |= linux.POLLERR | linux.POLLHUP
	var ch <-chan struct{}
	if watch {
		ch = f.Notify()
	}
	return f.Readiness(mask) & mask, ch
}

// pollFD is one struct pollfd.
type pollFD struct {
	FD      int32
	Events  uint16
	Revents uint16
}

func decodePollFDs(b []byte) []pollFD {
	out := make([]pollFD, len(b)/linux.SizeofPollFD)
	for i := range out {
		e := b[i*linux.SizeofPollFD:]
		out[i] = pollFD{
			FD:      int32(binary.LittleEndian.Uint32(e)),
			Events:  binary.LittleEndian.Uint16(e[4:]),
			Revents: binary.LittleEndian.Uint16(e[6:]),
		}
	}
	return out
}

func encodePollFDs(fds []pollFD) []byte {
	b := make([]byte, len(fds)*linux.SizeofPollFD)
	for i, p := range fds {
		e := b[i*linux.SizeofPollFD:]
		binary.LittleEndian.PutUint32(e, uint32(p.FD))
		binary.LittleEndian.PutUint16(e[4:], p.Events)
		binary.LittleEndian.PutUint16(e[6:], p.Revents)
	}
	return b
}

// doPoll is the core of poll: it fills in Revents (POLLNVAL for fds that
// are not open, nothing for negative fds) and returns how many are
// non-zero, waiting per deadline.
func doPoll(ctx vfs.Context, fdt *vfs.FDTable, fds []pollFD, deadline time.Time) (int, error) {
	return waitReady(ctx, deadline, func(watch bool) (int, []<-chan struct{}) {
		n := 0
		var chans []<-chan struct{}
		for i := range fds {
			p := &fds[i]
			p.Revents = 0
			if p.FD < 0 {
				continue
			}
			f, _, err := fdt.Get(p.FD)
			if err != nil || f.IsPath() {
				if f != nil {
					f.DecRef()
				}
				p.Revents = linux.POLLNVAL
				n++
				continue
			}
			r, ch := readiness(f, uint32(p.Events), watch)
			f.DecRef()
			if ch != nil {
				chans = append(chans, ch)
			}
			if r != 0 {
				p.Revents = uint16(r)
				n++
			}
		}
		return n, chans
	})
}

// pollUser runs poll on the user's pollfd array and writes revents back
// (also when interrupted, like Linux).
func pollUser(t *kernel.Task, addr uintptr, nfds uint32, deadline time.Time) (uintptr, error) {
	if nfds > maxPollFDs {
		return 0, linux.EINVAL
	}
	buf := make([]byte, int(nfds)*linux.SizeofPollFD)
	if err := copyInAll(t, addr, buf); err != nil {
		return 0, err
	}
	fds := decodePollFDs(buf)
	n, err := doPoll(t, t.FDTable(), fds, deadline)
	if werr := copyOutAll(t, addr, encodePollFDs(fds)); werr != nil {
		return 0, werr
	}
	return uintptr(n), err
}

// pollRestartable is poll with Linux's restart rule: an interrupted poll
// with a timeout resumes through restart_syscall with what is left of it.
func pollRestartable(t *kernel.Task, addr uintptr, nfds uint32, deadline time.Time) (uintptr, error) {
	n, err := pollUser(t, addr, nfds, deadline)
	if err == linux.ERESTARTNOHAND && !deadline.IsZero() {
		t.SetRestartBlock(func(t *kernel.Task, _ kernel.SyscallArguments) (uintptr, error) {
			return pollRestartable(t, addr, nfds, deadline)
		})
		return 0, linux.ERESTART_RESTARTBLOCK
	}
	return n, err
}

// sysPoll: poll(fds, nfds, timeout_ms); a negative timeout waits forever.
func sysPoll(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	ms := int32(a[2])
	var deadline time.Time
	if ms >= 0 {
		deadline = time.Now().Add(time.Duration(ms) * time.Millisecond)
	}
	return pollRestartable(t, a[0], uint32(a[1]), deadline)
}

// sysPpoll: ppoll(fds, nfds, tsp, sigmask, sigsetsize).
func sysPpoll(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	deadline, timed, err := timespecDeadline(t, a[2])
	if err != nil {
		return 0, err
	}
	mask, err := copySigmask(t, a[3], a[4])
	if err != nil {
		return 0, err
	}
	n, err := withSigmask(t, mask, func() (uintptr, error) {
		return pollUser(t, a[0], uint32(a[1]), deadline)
	})
	return finishTimeout(t, a[2], timed, deadline, false, n, err)
}

// fdSets are select's three sets as 64-bit words (fd n is bit n%64 of word
// n/64); nil for a set not given.
type fdSets [3][]uint64

// fdSetBytes is the size of an fd_set covering nfds fds.
func fdSetBytes(nfds int) int { return (nfds + 63) / 64 * 8 }

func decodeFDSet(b []byte) []uint64 {
	w := make([]uint64, len(b)/8)
	for i := range w {
		w[i] = binary.LittleEndian.Uint64(b[i*8:])
	}
	return w
}

func encodeFDSet(w []uint64) []byte {
	b := make([]byte, len(w)*8)
	for i, v := range w {
		binary.LittleEndian.PutUint64(b[i*8:], v)
	}
	return b
}

func fdIsSet(w []uint64, fd int) bool { return w != nil && w[fd/64]&(1<<(fd%64)) != 0 }

// selectLimit is how many fds select looks at: like Linux, bits beyond the
// fd table's size (the highest open fd rounded up to a 64-bit word) are
// ignored.
func selectLimit(fdt *vfs.FDTable, nfds int) int {
	fds := fdt.FDs()
	size := 64
	if len(fds) > 0 {
		size = max(size, (int(fds[len(fds)-1])+64)/64*64)
	}
	return min(nfds, size)
}

// doSelect is the core of select: sets holds the requested sets and gets
// the ready ones (all zero on timeout). It fails with EBADF when a set names
// an fd that is not open.
func doSelect(ctx vfs.Context, fdt *vfs.FDTable, nfds int, sets *fdSets, deadline time.Time) (int, error) {
	want := *sets
	for fd := 0; fd < nfds; fd++ {
		if fdIsSet(want[0], fd) || fdIsSet(want[1], fd) || fdIsSet(want[2], fd) {
			f, _, err := fdt.Get(int32(fd))
			if err != nil {
				return 0, linux.EBADF
			}
			f.DecRef()
		}
	}
	var got fdSets
	for i, w := range want {
		if w != nil {
			got[i] = make([]uint64, len(w))
		}
	}
	n, err := waitReady(ctx, deadline, func(watch bool) (int, []<-chan struct{}) {
		n := 0
		var chans []<-chan struct{}
		for i := range got {
			clear(got[i])
		}
		for fd := 0; fd < nfds; fd++ {
			in, out, ex := fdIsSet(want[0], fd), fdIsSet(want[1], fd), fdIsSet(want[2], fd)
			if !in && !out && !ex {
				continue
			}
			f, _, err := fdt.Get(int32(fd))
			if err != nil {
				continue // closed meanwhile: nothing to report
			}
			mask := uint32(pollExSet)
			if in {
				mask |= pollInSet
			}
			if out {
				mask |= pollOutSet
			}
			var r uint32
			var ch <-chan struct{}
			if !f.IsPath() {
				r, ch = readiness(f, mask, watch)
			}
			f.DecRef()
			if ch != nil {
				chans = append(chans, ch)
			}
			bit := uint64(1) << (fd % 64)
			for i, s := range [3]uint32{pollInSet, pollOutSet, pollExSet} {
				if fdIsSet(want[i], fd) && r&s != 0 {
					got[i][fd/64] |= bit
					n++
				}
			}
		}
		return n, chans
	})
	if err != nil {
		return 0, err
	}
	*sets = got
	return n, nil
}

// selectUser runs select on the user's fd_sets and writes the results back.
func selectUser(t *kernel.Task, nfds int, addrs [3]uintptr, deadline time.Time) (uintptr, error) {
	if nfds < 0 {
		return 0, linux.EINVAL
	}
	fdt := t.FDTable()
	nfds = selectLimit(fdt, nfds)
	var sets fdSets
	for i, addr := range addrs {
		if addr == 0 {
			continue
		}
		b := make([]byte, fdSetBytes(nfds))
		if err := copyInAll(t, addr, b); err != nil {
			return 0, err
		}
		sets[i] = decodeFDSet(b)
	}
	n, err := doSelect(t, fdt, nfds, &sets, deadline)
	if err != nil {
		return 0, err
	}
	for i, addr := range addrs {
		if addr != 0 {
			if err := copyOutAll(t, addr, encodeFDSet(sets[i])); err != nil {
				return 0, err
			}
		}
	}
	return uintptr(n), nil
}

// sysSelect: select(nfds, readfds, writefds, exceptfds, timeval).
func sysSelect(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	var deadline time.Time
	timed := false
	if a[4] != 0 {
		var tv linux.Timeval
		if err := kernel.CopyObjectIn(t, a[4], &tv); err != nil {
			return 0, err
		}
		// Linux folds excess microseconds into seconds.
		sec, nsec := tv.Sec+tv.Usec/1e6, tv.Usec%1e6*1e3
		d, err := pollDuration(sec, nsec)
		if err != nil {
			return 0, err
		}
		deadline, timed = time.Now().Add(d), d > 0
	}
	n, err := selectUser(t, int(int32(a[0])), [3]uintptr{a[1], a[2], a[3]}, deadline)
	return finishTimeout(t, a[4], timed, deadline, true, n, err)
}

// sysPselect6: pselect6(nfds, readfds, writefds, exceptfds, timespec,
// {sigmask *, sigsetsize}).
func sysPselect6(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	deadline, timed, err := timespecDeadline(t, a[4])
	if err != nil {
		return 0, err
	}
	var mask *linux.SignalSet
	if a[5] != 0 {
		var arg [16]byte
		if err := copyInAll(t, a[5], arg[:]); err != nil {
			return 0, err
		}
		addr := uintptr(binary.LittleEndian.Uint64(arg[:]))
		size := uintptr(binary.LittleEndian.Uint64(arg[8:]))
		if mask, err = copySigmask(t, addr, size); err != nil {
			return 0, err
		}
	}
	n, err := withSigmask(t, mask, func() (uintptr, error) {
		return selectUser(t, int(int32(a[0])), [3]uintptr{a[1], a[2], a[3]}, deadline)
	})
	return finishTimeout(t, a[4], timed, deadline, false, n, err)
}

// pollDuration validates a timeout (EINVAL when negative or nsec out of
// range); huge ones are capped far in the future.
func pollDuration(sec, nsec int64) (time.Duration, error) {
	if sec < 0 || nsec < 0 || nsec >= 1e9 {
		return 0, linux.EINVAL
	}
	const maxSec = 1 << 32 // ~136 years: forever for our purposes
	if sec > maxSec {
		sec = maxSec
	}
	return time.Duration(sec)*time.Second + time.Duration(nsec), nil
}

// timespecDeadline reads an optional struct timespec timeout: the zero
// deadline when addr is 0 (wait forever), and whether it is a non-zero
// timeout whose remaining time is written back.
func timespecDeadline(t *kernel.Task, addr uintptr) (time.Time, bool, error) {
	if addr == 0 {
		return time.Time{}, false, nil
	}
	var ts linux.Timespec
	if err := kernel.CopyObjectIn(t, addr, &ts); err != nil {
		return time.Time{}, false, err
	}
	d, err := pollDuration(ts.Sec, ts.Nsec)
	if err != nil {
		return time.Time{}, false, err
	}
	return time.Now().Add(d), d > 0, nil
}

// finishTimeout writes the time left back to the user's timeout (a
// timeval when isTimeval, else a timespec), as Linux does for select,
// pselect6 and ppoll when it was non-zero. If that write fails an
// interrupted call is not restarted (it would restart with the old
// timeout) but fails with EINTR.
func finishTimeout(t *kernel.Task, addr uintptr, timed bool, deadline time.Time, isTimeval bool, n uintptr, err error) (uintptr, error) {
	if !timed {
		return n, err
	}
	left := max(time.Until(deadline), 0)
	var werr error
	if isTimeval {
		tv := linux.Timeval{Sec: int64(left / time.Second), Usec: int64(left % time.Second / time.Microsecond)}
		werr = kernel.CopyObjectOut(t, addr, &tv)
	} else {
		ts := linux.Timespec{Sec: int64(left / time.Second), Nsec: int64(left % time.Second)}
		werr = kernel.CopyObjectOut(t, addr, &ts)
	}
	if werr != nil && err == linux.ERESTARTNOHAND {
		err = linux.EINTR
	}
	return n, err
}

// copySigmask reads the optional sigmask argument of ppoll, pselect6 and
// epoll_pwait (nil when addr is 0); size must be 8.
func copySigmask(t *kernel.Task, addr, size uintptr) (*linux.SignalSet, error) {
	if addr == 0 {
		return nil, nil
	}
	if size != 8 {
		return nil, linux.EINVAL
	}
	var b [8]byte
	if err := copyInAll(t, addr, b[:]); err != nil {
		return nil, err
	}
	m := linux.SignalSet(binary.LittleEndian.Uint64(b[:]))
	return &m, nil
}

// savedMaskSetter is the kernel hook for a syscall's temporary signal mask:
// SetSavedSignalMask installs mask and remembers the current one, which the
// kernel restores before returning to the application — after building a
// handler's frame when a signal is delivered (the handler then returns to
// the old mask), like Linux's set_user_sigmask/restore_saved_sigmask.
// *kernel.Task does not have it yet; withSigmask falls back without it.
type savedMaskSetter interface {
	SetSavedSignalMask(mask linux.SignalSet)
}

// withSigmask runs wait with the signal mask replaced by *mask (when
// non-nil). Without the kernel hook it swaps the mask with SigProcMask
// around the wait; then a signal unblocked only by the temporary mask
// interrupts the wait but stays pending (blocked again) afterwards, so the
// call fails with EINTR instead of restarting into the same interruption.
func withSigmask(t *kernel.Task, mask *linux.SignalSet, wait func() (uintptr, error)) (uintptr, error) {
	if mask == nil {
		return wait()
	}
	if s, ok := any(t).(savedMaskSetter); ok {
		s.SetSavedSignalMask(*mask)
		return wait()
	}
	old, err := t.SigProcMask(linux.SIG_SETMASK, mask)
	if err != nil {
		return 0, err
	}
	n, err := wait()
	t.SigProcMask(linux.SIG_SETMASK, &old)
	if err == linux.ERESTARTNOHAND && t.SigPending()&^*mask != 0 {
		err = linux.EINTR
	}
	return n, err
}

// copyInAll reads exactly len(b) bytes (EFAULT otherwise).
func copyInAll(t *kernel.Task, addr uintptr, b []byte) error {
	if len(b) == 0 {
		return nil
	}
	n, err := t.CopyIn(addr, b)
	if err == nil && n != len(b) {
		err = linux.EFAULT
	}
	return err
}

// copyOutAll writes exactly len(b) bytes (EFAULT otherwise).
func copyOutAll(t *kernel.Task, addr uintptr, b []byte) error {
	if len(b) == 0 {
		return nil
	}
	n, err := t.CopyOut(addr, b)
	if err == nil && n != len(b) {
		err = linux.EFAULT
	}
	return err
}
