package boot

import (
	"fmt"

	"bulwark.dev/pkg/platform"
	"bulwark.dev/pkg/platform/ptrace"
	"bulwark.dev/pkg/platform/systrap"
)

// platforms maps --platform values to their constructors. Each is given
// the memory file's fd and must be called before confine (the stubs are
// started from /proc/self/fd).
var platforms = map[string]func(memFD int) (platform.Platform, error){
	"ptrace":  func(fd int) (platform.Platform, error) { return ptrace.New(fd) },
	"systrap": func(fd int) (platform.Platform, error) { return systrap.New(fd) },
}

// newPlatform starts the platform named by --platform.
func newPlatform(name string, memFD int) (platform.Platform, error) {
	newFn, ok := platforms[name]
	if !ok {
		return nil, fmt.Errorf("unknown platform %q", name)
	}
	p, err := newFn(memFD)
	if err != nil {
		return nil, fmt.Errorf("starting the %s platform: %w", name, err)
	}
	return p, nil
}
