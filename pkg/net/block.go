package net

import (
	"encoding/binary"
	"time"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/vfs"
)

// deadliner is implemented by contexts that can block with a deadline
// (*kernel.Task).
type deadliner interface {
	BlockUntil(ch <-chan struct{}, deadline time.Time) error
}

// Block waits until ch is closed, a signal arrives or deadline passes
// (zero: never), as socket calls wait under SO_RCVTIMEO/SO_SNDTIMEO. It
// returns nil, linux.EAGAIN on timeout, and on a signal
// linux.ERESTARTSYS without a timeout or linux.EINTR with one (Linux's
// sock_intr_errno).
func Block(ctx vfs.Context, ch <-chan struct{}, deadline time.Time) error {
	if deadline.IsZero() {
		if err := ctx.Block(ch); err != nil {
			return linux.ERESTARTSYS
		}
		return nil
	}
	var err error
	if d, ok := ctx.(deadliner); ok {
		err = d.BlockUntil(ch, deadline)
	} else {
		err = blockUntil(ctx, ch, deadline)
	}
	switch err {
	case nil:
		return nil
	case linux.ETIMEDOUT:
		return linux.EAGAIN
	}
	return linux.EINTR
}

// blockUntil is BlockUntil for contexts without it.
func blockUntil(ctx vfs.Context, ch <-chan struct{}, deadline time.Time) error {
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	done := make(chan struct{})
	stop := make(chan struct{})
	defer close(stop)
	timedOut := make(chan bool, 1)
	go func() {
		select {
		case <-ch:
			timedOut <- false
		case <-timer.C:
			timedOut <- true
		case <-stop:
			timedOut <- false
		}
		close(done)
	}()
	if err := ctx.Block(done); err != nil {
		return err
	}
	if <-timedOut {
		return linux.ETIMEDOUT
	}
	return nil
}

// Deadline returns when an operation starting now gives up under the
// timeout option name (SO_RCVTIMEO or SO_SNDTIMEO), or the zero time.
func (o *Options) Deadline(name int) time.Time {
	o.mu.Lock()
	var tv [16]byte
	switch name {
	case linux.SO_RCVTIMEO:
		tv = o.rcvTO
	case linux.SO_SNDTIMEO:
		tv = o.sndTO
	}
	o.mu.Unlock()
	sec := int64(binary.LittleEndian.Uint64(tv[:]))
	usec := int64(binary.LittleEndian.Uint64(tv[8:]))
	switch {
	case sec < 0:
		return time.Now() // Linux: a negative timeout does not wait
	case sec == 0 && usec == 0:
		return time.Time{}
	}
	return time.Now().Add(time.Duration(sec)*time.Second + time.Duration(usec)*time.Microsecond)
}

// checkTimeval validates a struct timeval option value.
func checkTimeval(val []byte) error {
	if len(val) < 16 {
		return linux.EINVAL
	}
	usec := int64(binary.LittleEndian.Uint64(val[8:]))
	if usec < 0 || usec >= 1000000 {
		return linux.EDOM
	}
	return nil
}
