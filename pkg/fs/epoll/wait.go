package epoll

import (
	"reflect"
	"sync/atomic"
	"time"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/vfs"
)

// WaitAny blocks ctx until one of chans is closed, deadline passes
// (linux.ETIMEDOUT; a zero deadline never passes, one already past does
// not block at all) or ctx is interrupted (ctx.Block's error, e.g.
// linux.ERESTARTSYS). nil and duplicate channels are ignored. It is how
// poll, select and epoll_wait sleep on many files' vfs.Waiter.Notify
// channels at once: one helper goroutine fans them in.
func WaitAny(ctx vfs.Context, chans []<-chan struct{}, deadline time.Time) error {
	uniq := dedupe(chans)
	if !deadline.IsZero() && !time.Now().Before(deadline) {
		if anyClosed(uniq) {
			return nil
		}
		return linux.ETIMEDOUT
	}
	if deadline.IsZero() && len(uniq) <= 1 {
		var ch <-chan struct{} // nil: only a signal ends the wait
		if len(uniq) == 1 {
			ch = uniq[0]
		}
		return ctx.Block(ch)
	}
	var timeout <-chan time.Time
	if !deadline.IsZero() {
		timer := time.NewTimer(time.Until(deadline))
		defer timer.Stop()
		timeout = timer.C
	}
	stop := make(chan struct{})
	defer close(stop)
	done := make(chan struct{})
	var timedOut atomic.Bool
	go func() {
		if selectAny(uniq, timeout, stop) == firedTimeout {
			timedOut.Store(true)
		}
		close(done)
	}()
	if err := ctx.Block(done); err != nil {
		return err
	}
	if timedOut.Load() {
		return linux.ETIMEDOUT
	}
	return nil
}

// dedupe drops nil and repeated channels (many fds share one pipe).
func dedupe(chans []<-chan struct{}) []<-chan struct{} {
	seen := make(map[<-chan struct{}]bool, len(chans))
	out := make([]<-chan struct{}, 0, len(chans))
	for _, ch := range chans {
		if ch != nil && !seen[ch] {
			seen[ch] = true
			out = append(out, ch)
		}
	}
	return out
}

// isClosed reports whether ch is closed (or readable) without blocking; a
// nil channel never is.
func isClosed(ch <-chan struct{}) bool {
	if ch == nil {
		return false
	}
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func anyClosed(chans []<-chan struct{}) bool {
	for _, ch := range chans {
		if isClosed(ch) {
			return true
		}
	}
	return false
}

// What ended a selectAny.
const (
	firedChannel = iota
	firedTimeout
	firedStop
)

// selectAny waits for any of chans, timeout (may be nil) or stop.
func selectAny(chans []<-chan struct{}, timeout <-chan time.Time, stop <-chan struct{}) int {
	cases := make([]reflect.SelectCase, 0, len(chans)+2)
	cases = append(cases,
		reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(stop)},
		reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(timeout)})
	for _, ch := range chans {
		cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ch)})
	}
	switch i, _, _ := reflect.Select(cases); i {
	case 0:
		return firedStop
	case 1:
		return firedTimeout
	}
	return firedChannel
}
