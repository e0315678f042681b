// Package pipe implements pipes: anonymous ones (pipe2) and the buffers of
// FIFOs (named pipes) created through a filesystem's mknod.
package pipe

import (
	"sync"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/vfs"
)

// Capacity is the buffer size of a pipe.
const Capacity = 64 << 10

// Pipe is a pipe's buffer and its ends' counts. Safe for concurrent use.
type Pipe struct {
	mu      sync.Mutex
	buf     []byte      // unread bytes, guarded by mu
	readers int         // open read ends, guarded by mu
	writers int         // open write ends, guarded by mu
	rOpens  int         // read ends ever opened (FIFO open waits), guarded by mu
	wOpens  int         // write ends ever opened, guarded by mu
	changed vfs.Changes // the waiters of a state change, guarded by mu
}

// New returns a pipe with no ends open.
func New() *Pipe { return &Pipe{} }

// notifyLocked wakes every waiter. p.mu must be held.
func (p *Pipe) notifyLocked() {
	p.changed.Notify()
}

// wait blocks until the next state change (p.mu held on entry and on
// return) or a signal (linux.ERESTARTSYS).
func (p *Pipe) wait(ctx vfs.Context) error {
	ch := p.changed.Chan()
	p.mu.Unlock()
	err := ctx.Block(ch)
	p.mu.Lock()
	if err != nil {
		return linux.ERESTARTSYS
	}
	return nil
}

// newEnd registers an end with the given access.
func (p *Pipe) newEnd(read, write bool) *End {
	p.mu.Lock()
	defer p.mu.Unlock()
	if read {
		p.readers++
		p.rOpens++
	}
	if write {
		p.writers++
		p.wOpens++
	}
	p.notifyLocked()
	return &End{p: p, read: read, write: write}
}

// Open opens the pipe as a FIFO with open(2) flags: a reader waits for a
// writer and a writer for a reader unless O_NONBLOCK (then a writer without
// readers fails with linux.ENXIO); O_RDWR never waits.
func (p *Pipe) Open(ctx vfs.Context, flags uint32) (*End, error) {
	nonblock := flags&linux.O_NONBLOCK != 0
	switch flags & linux.O_ACCMODE {
	case linux.O_RDONLY:
		e := p.newEnd(true, false)
		if nonblock {
			return e, nil
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		for start := p.wOpens; p.writers == 0 && p.wOpens == start; {
			if err := p.wait(ctx); err != nil {
				p.mu.Unlock()
				e.Release()
				p.mu.Lock()
				return nil, err
			}
		}
		return e, nil
	case linux.O_WRONLY:
		p.mu.Lock()
		none := p.readers == 0
		p.mu.Unlock()
		if none && nonblock {
			return nil, linux.ENXIO
		}
		e := p.newEnd(false, true)
		p.mu.Lock()
		defer p.mu.Unlock()
		for start := p.rOpens; p.readers == 0 && p.rOpens == start; {
			if err := p.wait(ctx); err != nil {
				p.mu.Unlock()
				e.Release()
				p.mu.Lock()
				return nil, err
			}
		}
		return e, nil
	case linux.O_RDWR:
		return p.newEnd(true, true), nil
	}
	return nil, linux.EINVAL
}

// End is one open end of a pipe; it implements vfs.FileImpl, Ioctler and
// Waiter.
type End struct {
	p           *Pipe
	read, write bool
	once        sync.Once
}

// Read implements vfs.FileImpl: it waits for data (or EOF when no writer is
// left), or fails with linux.EAGAIN under O_NONBLOCK.
func (e *End) Read(ctx vfs.Context, f *vfs.File, dst []byte, _ int64) (int, error) {
	if !e.read {
		return 0, linux.EBADF
	}
	if len(dst) == 0 {
		return 0, nil
	}
	p := e.p
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.buf) == 0 {
		if p.writers == 0 {
			return 0, nil
		}
		if f.StatusFlags()&linux.O_NONBLOCK != 0 {
			return 0, linux.EAGAIN
		}
		if err := p.wait(ctx); err != nil {
			return 0, err
		}
	}
	n := copy(dst, p.buf)
	p.buf = p.buf[n:]
	if len(p.buf) == 0 {
		p.buf = nil
	}
	p.notifyLocked()
	return n, nil
}

// Write implements vfs.FileImpl: writes of at most PIPE_BUF bytes are
// atomic; larger ones may be split. Without readers it fails with
// linux.EPIPE (the caller sends SIGPIPE).
func (e *End) Write(ctx vfs.Context, f *vfs.File, src []byte, _ int64) (int, error) {
	if !e.write {
		return 0, linux.EBADF
	}
	p := e.p
	p.mu.Lock()
	defer p.mu.Unlock()
	done := 0
	for {
		if p.readers == 0 {
			if done > 0 {
				return done, nil
			}
			return 0, linux.EPIPE
		}
		rest := src[done:]
		room := Capacity - len(p.buf)
		atomic := len(src) <= linux.PIPE_BUF
		if room > 0 && (!atomic || room >= len(rest)) {
			n := min(room, len(rest))
			p.buf = append(p.buf, rest[:n]...)
			done += n
			p.notifyLocked()
			if done == len(src) {
				return done, nil
			}
		}
		if f.StatusFlags()&linux.O_NONBLOCK != 0 {
			if done > 0 {
				return done, nil
			}
			return 0, linux.EAGAIN
		}
		if err := p.wait(ctx); err != nil {
			if done > 0 {
				return done, nil
			}
			return 0, err
		}
	}
}

// Release implements vfs.FileImpl.
func (e *End) Release() {
	e.once.Do(func() {
		p := e.p
		p.mu.Lock()
		defer p.mu.Unlock()
		if e.read {
			p.readers--
		}
		if e.write {
			p.writers--
		}
		if p.readers == 0 && p.writers == 0 {
			p.buf = nil
		}
		p.notifyLocked()
	})
}

// Readiness implements vfs.Waiter.
func (e *End) Readiness(mask uint32) uint32 {
	p := e.p
	p.mu.Lock()
	defer p.mu.Unlock()
	var r uint32
	if e.read {
		if len(p.buf) > 0 {
			r |= linux.POLLIN | linux.POLLRDNORM
		}
		if p.writers == 0 && p.wOpens > 0 {
			r |= linux.POLLHUP
		}
	}
	if e.write {
		if p.readers == 0 {
			r |= linux.POLLERR
		} else if Capacity-len(p.buf) >= linux.PIPE_BUF {
			r |= linux.POLLOUT | linux.POLLWRNORM
		}
	}
	return r & (mask | linux.POLLHUP | linux.POLLERR)
}

// Notify implements vfs.Waiter.
func (e *End) Notify() <-chan struct{} {
	e.p.mu.Lock()
	defer e.p.mu.Unlock()
	return e.p.changed.Chan()
}

// Buffered returns the number of unread bytes.
func (p *Pipe) Buffered() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.buf)
}

// Ioctl implements vfs.Ioctler: FIONREAD.
func (e *End) Ioctl(ctx vfs.Context, _ *vfs.File, cmd uint32, arg uintptr) (uintptr, error) {
	if cmd != linux.FIONREAD {
		return 0, linux.ENOTTY
	}
	n := int32(e.p.Buffered())
	b := []byte{byte(n), byte(n >> 8), byte(n >> 16), byte(n >> 24)}
	if _, err := ctx.CopyOut(arg, b); err != nil {
		return 0, err
	}
	return 0, nil
}
