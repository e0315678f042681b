package vfs

import (
	"sync"

	"bulwark.dev/pkg/abi/linux"
)

// DeviceOpener opens a character device for a device node.
type DeviceOpener func(ctx Context, flags uint32) (FileImpl, error)

var (
	devicesMu sync.RWMutex
	devices   = map[uint32]DeviceOpener{}
)

// RegisterCharDevice makes device nodes with device number rdev (MakeDev)
// open through open. pkg/fs/dev registers the memory devices.
func RegisterCharDevice(rdev uint32, open DeviceOpener) {
	devicesMu.Lock()
	defer devicesMu.Unlock()
	devices[rdev] = open
}

// OpenCharDevice opens the character device rdev (linux.ENXIO when none is
// registered). Filesystems call it from the Open of a device node.
func OpenCharDevice(ctx Context, rdev uint32, flags uint32) (FileImpl, error) {
	devicesMu.RLock()
	open := devices[rdev]
	devicesMu.RUnlock()
	if open == nil {
		return nil, linux.ENXIO
	}
	return open(ctx, flags)
}
