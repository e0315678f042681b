package devpts

import (
	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/fs/host"
	"bulwark.dev/pkg/kernel"
	"bulwark.dev/pkg/vfs"
)

// controller is implemented by the sandbox kernel's tasks (the
// vfs.Context of a system call).
type controller interface {
	ControllingTerminal() (id uint64, ok bool)
}

// openTTY opens /dev/tty: the caller's controlling terminal, a pty of the
// sandbox or a host terminal it shows (ENXIO when there is none).
func (ts *Terminals) openTTY(ctx vfs.Context, flags uint32) (vfs.FileImpl, error) {
	c, ok := ctx.(controller)
	if !ok {
		return nil, linux.ENXIO
	}
	id, ok := c.ControllingTerminal()
	if !ok {
		return nil, linux.ENXIO
	}
	in := ts.byID(id)
	if in == nil {
		return nil, linux.ENXIO
	}
	return in.Open(ctx, flags|linux.O_NOCTTY)
}

// byID returns the node of terminal id, or nil.
func (ts *Terminals) byID(id uint64) vfs.Inode {
	rdev := kernel.TerminalDevice(id)
	n := (vfs.DevMajor(rdev)-linux.UNIX98_PTY_SLAVE_MAJOR)*256 + vfs.DevMinor(rdev)
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if id&kernel.LocalTerminal != 0 {
		if p := ts.ptys[n]; p != nil && p.id == id {
			return p.node
		}
		return nil
	}
	if n, ok := host.PTYIndex(id); ok && ts.nodes[n] != nil {
		return ts.nodes[n]
	}
	return nil
}
