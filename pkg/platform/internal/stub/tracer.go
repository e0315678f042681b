package stub

import (
	"runtime"
	"sync"
)

// Tracer is a goroutine locked to its own OS thread. Linux binds a ptrace
// relationship to the tracing thread, so every ptrace and wait call for a
// stub thread it attached to must run on it; other goroutines send it
// closures with Do.
//
// When the tracer stops, its goroutine returns while still locked, so the
// Go runtime destroys the OS thread and PTRACE_O_EXITKILL kills any stub
// still attached to it.
type Tracer struct {
	reqs     chan func()
	quit     chan struct{}
	gone     error
	stopOnce sync.Once
}

// StartTracer starts a tracer thread and runs init on it first. If init
// fails the tracer stops and the error is returned. gone is the error Do
// returns once the tracer has stopped.
func StartTracer(init func() error, gone error) (*Tracer, error) {
	t := &Tracer{reqs: make(chan func()), quit: make(chan struct{}), gone: gone}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// Never unlocked: the thread dies with the goroutine (see above).
		if err := init(); err != nil {
			errc <- err
			return
		}
		errc <- nil
		for {
			select {
			case f := <-t.reqs:
				f()
			case <-t.quit:
				return
			}
		}
	}()
	if err := <-errc; err != nil {
		return nil, err
	}
	return t, nil
}

// Do runs f on the tracer thread and waits for it to finish. It returns the
// tracer's gone error, without running f, if the tracer has stopped.
func (t *Tracer) Do(f func()) error {
	done := make(chan struct{})
	select {
	case t.reqs <- func() { f(); close(done) }:
	case <-t.quit:
		return t.gone
	}
	<-done
	return nil
}

// Stop ends the tracer thread. Requests already running finish first.
func (t *Tracer) Stop() { t.stopOnce.Do(func() { close(t.quit) }) }
