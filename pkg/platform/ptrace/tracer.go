package ptrace

import (
	"errors"

	istub "bulwark.dev/pkg/platform/internal/stub"
)

// errStubGone is returned for requests to a stub whose tracer has stopped.
var errStubGone = errors.New("ptrace: stub process is gone")

// tracer is the locked OS thread that runs every ptrace and wait call for
// the master stub and for the first thread of each stub process. (Context
// threads are traced by their task's goroutine instead, without this
// hand-off: see context.)
type tracer = istub.Tracer

// startTracer starts a tracer thread and runs init on it first. If init
// fails the tracer stops and the error is returned.
func startTracer(init func() error) (*tracer, error) {
	return istub.StartTracer(init, errStubGone)
}
