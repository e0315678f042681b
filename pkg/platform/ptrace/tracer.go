package ptrace

import (
	"errors"
	"runtime"
	"sync"
)

// errStubGone is returned for requests to a stub whose tracer has stopped.
var errStubGone = errors.New("ptrace: stub process is gone")

// tracer is a goroutine locked to its own OS thread. Linux binds a ptrace
// relationship to the tracing thread, so every ptrace and wait call for the
// master stub and for the first thread of each stub process runs on its
// tracer; other goroutines send it closures. (Context threads are traced by
// their task's goroutine instead, without this hand-off: see context.)
//
// When the tracer stops, its goroutine returns while still locked, so the
// Go runtime destroys the OS thread and PTRACE_O_EXITKILL kills any stub
// still attached to it.
type tracer struct {
	reqs     chan func()
	quit     chan struct{}
	stopOnce sync.Once
}

// startTracer starts a tracer thread and runs init on it first. If init
// fails the tracer stops and the error is returned.
func startTracer(init func() error) (*tracer, error) {
	t := &tracer{reqs: make(chan func()), quit: make(chan struct{})}
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

// do runs f on the tracer thread and waits for it to finish.
func (t *tracer) do(f func()) error {
	done := make(chan struct{})
	select {
	case t.reqs <- func() { f(); close(done) }:
	case <-t.quit:
		return errStubGone
	}
	<-done
	return nil
}

// stop ends the tracer thread. Requests already running finish first.
func (t *tracer) stop() { t.stopOnce.Do(func() { close(t.quit) }) }
