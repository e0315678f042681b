package devpts

import (
	"sync"
	"time"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/vfs"
)

// terminalAccess is implemented by the sandbox kernel's tasks (the
// vfs.Context of a system call): job control for terminal I/O.
type terminalAccess interface {
	TerminalAccess(id uint64, sig int) error
}

// slaveFile is an open slave of a pty. It implements vfs.FileImpl,
// vfs.Ioctler, vfs.Waiter, vfs.Seeker, vfs.StreamImpl and
// kernel.TerminalFile.
type slaveFile struct {
	p    *pty
	once sync.Once
}

// Terminal implements kernel.TerminalFile.
func (s *slaveFile) Terminal() (uint64, bool) { return s.p.id, true }

// IsStream implements vfs.StreamImpl.
func (s *slaveFile) IsStream() bool { return true }

// Seek implements vfs.Seeker: a terminal has no position.
func (s *slaveFile) Seek(vfs.Context, *vfs.File, int64, int) (int64, error) { return 0, linux.ESPIPE }

// access applies job control to the caller: a background process group
// reading (SIGTTIN) or, with TOSTOP, writing (SIGTTOU) is stopped.
func (s *slaveFile) access(ctx vfs.Context, sig int) error {
	if ta, ok := ctx.(terminalAccess); ok {
		return ta.TerminalAccess(s.p.id, sig)
	}
	return nil
}

// Read implements vfs.FileImpl: a line in canonical mode; otherwise as
// VMIN and VTIME say. After the hang-up it reads end of file.
func (s *slaveFile) Read(ctx vfs.Context, f *vfs.File, dst []byte, _ int64) (int, error) {
	if len(dst) == 0 {
		return 0, nil
	}
	if err := s.access(ctx, linux.SIGTTIN); err != nil {
		return 0, err
	}
	p := s.p
	p.mu.Lock()
	defer p.mu.Unlock()
	var deadline time.Time // the VTIME timer, once running
	seen := -1             // queued bytes when the timer was (re)started
	for {
		if p.hungUp {
			return 0, nil
		}
		l := &p.ld
		vmin := int(l.termios.ControlCharacters[linux.VMIN])
		vtime := time.Duration(l.termios.ControlCharacters[linux.VTIME]) * 100 * time.Millisecond
		want := min(vmin, len(dst))
		avail, ok := l.readable(want)
		expired := !deadline.IsZero() && !time.Now().Before(deadline)
		nonblock := f.StatusFlags()&linux.O_NONBLOCK != 0
		raw := !l.canonical()
		if ok || raw && (vmin == 0 && vtime == 0 || expired || nonblock && avail > 0) {
			n := l.read(dst)
			p.notifyLocked()
			return n, nil
		}
		if nonblock {
			return 0, linux.EAGAIN
		}
		if raw && vtime > 0 && (vmin == 0 || avail > 0) && avail != seen {
			// VMIN 0: one timer for the read; else restarted by each byte.
			if vmin > 0 || deadline.IsZero() {
				deadline = time.Now().Add(vtime)
			}
			seen = avail
		}
		if err := p.wait(ctx, deadline); err != nil {
			return 0, err
		}
	}
}

// Write implements vfs.FileImpl: output processing into the master's
// queue, waiting while it is full. After the hang-up it fails with EIO.
func (s *slaveFile) Write(ctx vfs.Context, f *vfs.File, src []byte, _ int64) (int, error) {
	p := s.p
	p.mu.Lock()
	tostop := p.ld.lflag(linux.TOSTOP)
	p.mu.Unlock()
	if tostop {
		if err := s.access(ctx, linux.SIGTTOU); err != nil {
			return 0, err
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	done := 0
	for {
		if p.hungUp {
			return partial(done, linux.EIO)
		}
		if n := p.ld.output(src[done:]); n > 0 {
			done += n
			p.notifyLocked()
		}
		if done == len(src) {
			return done, nil
		}
		if f.StatusFlags()&linux.O_NONBLOCK != 0 {
			return partial(done, linux.EAGAIN)
		}
		if err := p.wait(ctx, noDeadline); err != nil {
			return partial(done, err)
		}
	}
}

// partial returns done if some bytes were written, else err.
func partial(done int, err error) (int, error) {
	if done > 0 {
		return done, nil
	}
	return 0, err
}

// Release implements vfs.FileImpl.
func (s *slaveFile) Release() { s.once.Do(s.p.releaseSlave) }

// Readiness implements vfs.Waiter.
func (s *slaveFile) Readiness(mask uint32) uint32 {
	p := s.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.hungUp {
		return (linux.POLLIN | linux.POLLRDNORM | linux.POLLOUT | linux.POLLWRNORM | linux.POLLERR | linux.POLLHUP) &
			(mask | linux.POLLHUP | linux.POLLERR)
	}
	var r uint32
	need := 1
	if cc := p.ld.termios.ControlCharacters; cc[linux.VTIME] == 0 {
		need = int(cc[linux.VMIN])
	}
	if _, ok := p.ld.readable(need); ok {
		r |= linux.POLLIN | linux.POLLRDNORM
	}
	if !p.ld.stopped && len(p.ld.outq)+2 <= queueMax {
		r |= linux.POLLOUT | linux.POLLWRNORM
	}
	return r & mask
}

// Notify implements vfs.Waiter.
func (s *slaveFile) Notify() <-chan struct{} {
	s.p.mu.Lock()
	defer s.p.mu.Unlock()
	return s.p.changed.Chan()
}

// Ioctl implements vfs.Ioctler.
func (s *slaveFile) Ioctl(ctx vfs.Context, _ *vfs.File, cmd uint32, arg uintptr) (uintptr, error) {
	return s.p.ioctl(ctx, slaveSide, cmd, arg)
}
