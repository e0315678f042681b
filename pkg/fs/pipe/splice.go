package pipe

import (
	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/vfs"
)

// Helpers for splice(2) and tee(2), which move bytes between pipes and
// files without going through the caller's memory.

// EndOf returns the pipe end behind f, or nil when f is not a pipe.
func EndOf(f *vfs.File) *End {
	e, _ := f.Impl().(*End)
	return e
}

// SamePipe reports whether e and o are ends of the same pipe.
func (e *End) SamePipe(o *End) bool { return e.p == o.p }

// Peek waits for buffered bytes (unless nonblock: linux.EAGAIN) and
// returns a copy of up to max of them without consuming them; it returns
// nothing at end of file (no writer left).
func (e *End) Peek(ctx vfs.Context, max int, nonblock bool) ([]byte, error) {
	if !e.read {
		return nil, linux.EBADF
	}
	p := e.p
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.buf) == 0 {
		if p.writers == 0 {
			return nil, nil
		}
		if nonblock {
			return nil, linux.EAGAIN
		}
		if err := p.wait(ctx); err != nil {
			return nil, err
		}
	}
	return append([]byte(nil), p.buf[:min(max, len(p.buf))]...), nil
}

// Consume drops the first n buffered bytes (after a Peek).
func (e *End) Consume(n int) {
	p := e.p
	p.mu.Lock()
	defer p.mu.Unlock()
	n = min(n, len(p.buf))
	p.buf = p.buf[n:]
	if len(p.buf) == 0 {
		p.buf = nil
	}
	p.notifyLocked()
}

// Room waits until the pipe has free space (unless nonblock:
// linux.EAGAIN) and returns how much; linux.EPIPE when no reader is left.
func (e *End) Room(ctx vfs.Context, nonblock bool) (int, error) {
	if !e.write {
		return 0, linux.EBADF
	}
	p := e.p
	p.mu.Lock()
	defer p.mu.Unlock()
	for {
		if p.readers == 0 {
			return 0, linux.EPIPE
		}
		if room := Capacity - len(p.buf); room > 0 {
			return room, nil
		}
		if nonblock {
			return 0, linux.EAGAIN
		}
		if err := p.wait(ctx); err != nil {
			return 0, err
		}
	}
}

// Put appends as much of src as fits without waiting and returns how much
// did (linux.EPIPE when no reader is left).
func (e *End) Put(src []byte) (int, error) {
	if !e.write {
		return 0, linux.EBADF
	}
	p := e.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.readers == 0 {
		return 0, linux.EPIPE
	}
	n := min(len(src), Capacity-len(p.buf))
	if n > 0 {
		p.buf = append(p.buf, src[:n]...)
		p.notifyLocked()
	}
	return n, nil
}
