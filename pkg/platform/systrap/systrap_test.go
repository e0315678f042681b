package systrap

import (
	"testing"

	"bulwark.dev/pkg/platform"
	"bulwark.dev/pkg/platform/internal/platformtest"
)

// hooks give the shared platform tests access to this platform.
var hooks = platformtest.Hooks{
	New:       func(fd int) (platform.Platform, error) { return New(fd) },
	StubPID:   func(as platform.AddressSpace) int { return as.(*addressSpace).s.PID },
	MasterPID: func(p platform.Platform) int { return p.(*Platform).master.PID },
	ThreadTID: func(c platform.Context) int { return c.(*context).th.tid },
}

// TestPlatform runs the tests every platform passes.
func TestPlatform(t *testing.T) { platformtest.Run(t, hooks) }

// BenchmarkSyscallRoundTrip measures one trapped application syscall.
func BenchmarkSyscallRoundTrip(b *testing.B) { platformtest.Bench(b, hooks) }

// newTestPlatform returns a platform on a fresh memory file holding the
// shared test program (see platformtest.NewPlatform).
func newTestPlatform(t testing.TB) (*Platform, int) {
	p, fd := platformtest.NewPlatform(t, hooks.New)
	return p.(*Platform), fd
}
