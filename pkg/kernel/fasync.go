package kernel

import (
	"encoding/binary"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/vfs"
)

// Signal-driven I/O: a file with O_ASYNC (F_SETFL, FIOASYNC) and an owner
// (F_SETOWN, F_SETOWN_EX) signals its owner when input arrives or output
// becomes possible, as Linux's kill_fasync does. One goroutine per such
// file waits for its readiness to change (vfs.File.WatchAsync). Files that
// are always ready (regular files) signal nothing, as on Linux.

// ioEvent is one reason for a SIGIO: its si_code (POLL_*) and si_band.
type ioEvent struct {
	mask uint32 // readiness bits that raise it
	edge bool   // only when they were not ready before
	code int32
	band uint32
}

// ioEvents are checked in order; each one ready gives one signal. Input is
// signalled at every readiness change while there is input (new data
// arrived), output, errors and hang-ups when they begin.
var ioEvents = []ioEvent{
	{linux.POLLIN | linux.POLLRDNORM, false, linux.POLL_IN, linux.POLLIN | linux.POLLRDNORM},
	{linux.POLLOUT | linux.POLLWRNORM, true, linux.POLL_OUT, linux.POLLOUT | linux.POLLWRNORM | linux.POLLWRBAND},
	{linux.POLLERR, true, linux.POLL_ERR, linux.POLLERR},
	{linux.POLLHUP, true, linux.POLL_HUP, linux.POLLHUP | linux.POLLERR},
}

// UpdateAsync makes SIGIO delivery for f, open as fd, match its O_ASYNC
// flag and owner. Callers call it after F_SETFL, FIOASYNC, F_SETOWN and
// F_SETOWN_EX.
func (t *Task) UpdateAsync(f *vfs.File, fd int32) {
	owner, _ := f.Owner()
	if _, ok := f.Impl().(vfs.Waiter); !ok || owner == 0 || f.StatusFlags()&linux.O_ASYNC == 0 {
		f.StopAsync()
		return
	}
	// Subscribe now, not when the goroutine gets to run: I/O right after
	// this call must not be missed.
	k, interest := t.k, asyncInterest(f)
	ch, prev := f.Notify(), f.Readiness(interest)
	f.WatchAsync(func(stop <-chan struct{}) { k.watchAsync(f, fd, interest, ch, prev, stop) })
}

// asyncInterest is the readiness a file's owner hears of: input for a
// readable file, output for a writable one, errors and hang-ups always.
func asyncInterest(f *vfs.File) uint32 {
	m := uint32(linux.POLLERR | linux.POLLHUP)
	if f.Readable() {
		m |= linux.POLLIN | linux.POLLRDNORM
	}
	if f.Writable() {
		m |= linux.POLLOUT | linux.POLLWRNORM
	}
	return m
}

// watchAsync signals f's owner at each readiness change of f until stop
// is closed, from the subscription ch taken when f's readiness was prev.
func (k *Kernel) watchAsync(f *vfs.File, fd int32, interest uint32, ch <-chan struct{}, prev uint32, stop <-chan struct{}) {
	for {
		select {
		case <-ch:
		case <-stop:
			return
		}
		// Both may be ready: once O_ASYNC is cleared, nothing is sent.
		select {
		case <-stop:
			return
		default:
		}
		// Subscribe before looking, so that no later change is missed.
		ch = f.Notify()
		now := f.Readiness(interest)
		for _, e := range ioEvents {
			if now&e.mask != 0 && !(e.edge && prev&e.mask != 0) {
				k.sendIO(f, fd, e)
			}
		}
		prev = now
	}
}

// sendIO signals f's owner for event e: F_SETSIG's signal with the fd and
// band in its siginfo, or a plain SIGIO.
func (k *Kernel) sendIO(f *vfs.File, fd int32, e ioEvent) {
	owner, sig := f.Owner()
	if owner == 0 || f.StatusFlags()&linux.O_ASYNC == 0 {
		return // changed since the watcher woke up
	}
	info := kernelInfo(linux.SIGIO)
	if sig != 0 {
		info = linux.SignalInfo{Signo: sig, Code: e.code}
		binary.LittleEndian.PutUint64(info.Data[linux.SigInfoBandOff:], uint64(e.band))
		binary.LittleEndian.PutUint32(info.Data[linux.SigInfoFDOff:], uint32(fd))
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if owner > 0 {
		if tg := k.tgs[owner]; tg != nil && !tg.zombie {
			k.sendGroupLocked(tg, info, sendFromSandbox)
		}
		return
	}
	for _, tg := range k.sortedTGsLocked() {
		if tg.pgid == -owner && !tg.zombie {
			k.sendGroupLocked(tg, info, sendFromSandbox)
		}
	}
}
