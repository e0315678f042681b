package devpts

import (
	"sync"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/fs/host"
	"bulwark.dev/pkg/vfs"
)

// masterFile is the master of a pty (an open ptmx). It implements
// vfs.FileImpl, vfs.Ioctler, vfs.Waiter, vfs.Seeker, vfs.StreamImpl and
// kernel.TerminalMaster.
type masterFile struct {
	p    *pty
	once sync.Once
}

// TerminalPeer implements kernel.TerminalMaster.
func (m *masterFile) TerminalPeer() uint64 { return m.p.id }

// IsStream implements vfs.StreamImpl.
func (m *masterFile) IsStream() bool { return true }

// Seek implements vfs.Seeker: a terminal has no position.
func (m *masterFile) Seek(vfs.Context, *vfs.File, int64, int) (int64, error) { return 0, linux.ESPIPE }

// Read implements vfs.FileImpl: what the slave wrote and the echoes.
// Once every slave file is closed and nothing is left it fails with EIO.
func (m *masterFile) Read(ctx vfs.Context, f *vfs.File, dst []byte, _ int64) (int, error) {
	if len(dst) == 0 {
		return 0, nil
	}
	p := m.p
	p.mu.Lock()
	defer p.mu.Unlock()
	for {
		if len(p.ld.outq) > 0 {
			n := copy(dst, p.ld.outq)
			p.ld.outq = p.ld.outq[n:]
			if len(p.ld.outq) == 0 {
				p.ld.outq = nil
			}
			p.notifyLocked()
			return n, nil
		}
		if p.otherClosed {
			return 0, linux.EIO
		}
		if f.StatusFlags()&linux.O_NONBLOCK != 0 {
			return 0, linux.EAGAIN
		}
		if err := p.wait(ctx, noDeadline); err != nil {
			return 0, err
		}
	}
}

// Write implements vfs.FileImpl: the slave's input, through the line
// discipline, waiting while its queue is full. Keyboard characters signal
// the slave's foreground process group.
func (m *masterFile) Write(ctx vfs.Context, f *vfs.File, src []byte, _ int64) (int, error) {
	p := m.p
	done := 0
	for {
		p.mu.Lock()
		n, sigs := p.ld.input(src[done:])
		done += n
		if n > 0 {
			p.notifyLocked()
		}
		ch := p.changed.Chan()
		p.mu.Unlock()
		p.signal(sigs...)
		if done == len(src) {
			return done, nil
		}
		if f.StatusFlags()&linux.O_NONBLOCK != 0 {
			return partial(done, linux.EAGAIN)
		}
		if err := ctx.Block(ch); err != nil {
			return partial(done, linux.ERESTARTSYS)
		}
	}
}

// Release implements vfs.FileImpl: the pty hangs up.
func (m *masterFile) Release() { m.once.Do(m.p.hangUp) }

// Readiness implements vfs.Waiter.
func (m *masterFile) Readiness(mask uint32) uint32 {
	p := m.p
	p.mu.Lock()
	defer p.mu.Unlock()
	var r uint32
	if len(p.ld.outq) > 0 {
		r |= linux.POLLIN | linux.POLLRDNORM
	}
	if p.otherClosed {
		r |= linux.POLLHUP
	}
	if p.ld.inputRoom() > 0 {
		r |= linux.POLLOUT | linux.POLLWRNORM
	}
	return r & (mask | linux.POLLHUP)
}

// Notify implements vfs.Waiter.
func (m *masterFile) Notify() <-chan struct{} {
	m.p.mu.Lock()
	defer m.p.mu.Unlock()
	return m.p.changed.Chan()
}

// Ioctl implements vfs.Ioctler.
func (m *masterFile) Ioctl(ctx vfs.Context, _ *vfs.File, cmd uint32, arg uintptr) (uintptr, error) {
	return m.p.ioctl(ctx, masterSide, cmd, arg)
}

// OpenPeer opens the slave (TIOCGPTPEER) with open(2) flags, as a file
// named like /dev/pts/N.
func (m *masterFile) OpenPeer(ctx vfs.Context, flags uint32) (*vfs.File, error) {
	impl, err := m.p.openSlave(ctx, flags)
	if err != nil {
		return nil, err
	}
	return vfs.NewFile(m.p.node, impl, flags, host.PTSName(m.p.index)), nil
}
