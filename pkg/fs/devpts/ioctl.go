package devpts

import (
	"encoding/binary"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/vfs"
)

// side tells a pty's master from its slave.
type side int

const (
	masterSide side = iota
	slaveSide
)

// ptyIoctl handles one ioctl request on side s of p.
type ptyIoctl func(p *pty, ctx vfs.Context, s side, arg uintptr) (uintptr, error)

// ptyIoctls are the requests both sides answer (the job-control ones are
// the kernel's: pkg/syscalls handles them through kernel.TerminalFile).
var ptyIoctls = map[uint32]ptyIoctl{
	linux.TCGETS:     getTermios,
	linux.TCSETS:     setTermios(false),
	linux.TCSETSW:    setTermios(false), // output is never pending
	linux.TCSETSF:    setTermios(true),
	linux.TIOCGWINSZ: getWinsize,
	linux.TIOCSWINSZ: setWinsize,
	linux.FIONREAD:   inQueue,
	linux.TIOCOUTQ:   outQueue,
	linux.TCFLSH:     flushQueues,
	linux.TCSBRK:     func(*pty, vfs.Context, side, uintptr) (uintptr, error) { return 0, nil },
	linux.TIOCGPTN:   masterOnly(getIndex),
	linux.TIOCSPTLCK: masterOnly(setLock),
	linux.TIOCGPTLCK: masterOnly(getLock),
}

// ioctl answers request cmd on side s; a hung-up slave answers EIO.
func (p *pty) ioctl(ctx vfs.Context, s side, cmd uint32, arg uintptr) (uintptr, error) {
	h, ok := ptyIoctls[cmd]
	if !ok {
		return 0, linux.ENOTTY
	}
	if s == slaveSide {
		p.mu.Lock()
		hungUp := p.hungUp
		p.mu.Unlock()
		if hungUp {
			return 0, linux.EIO
		}
	}
	return h(p, ctx, s, arg)
}

// masterOnly restricts h to the master (ENOTTY on the slave).
func masterOnly(h ptyIoctl) ptyIoctl {
	return func(p *pty, ctx vfs.Context, s side, arg uintptr) (uintptr, error) {
		if s != masterSide {
			return 0, linux.ENOTTY
		}
		return h(p, ctx, s, arg)
	}
}

func copyOutU32(ctx vfs.Context, addr uintptr, v uint32) (uintptr, error) {
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], v)
	_, err := ctx.CopyOut(addr, b[:])
	return 0, err
}

func copyInU32(ctx vfs.Context, addr uintptr) (uint32, error) {
	var b [4]byte
	if _, err := ctx.CopyIn(addr, b[:]); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(b[:]), nil
}

// termiosOf returns the settings of side s. p.mu must be held.
func (p *pty) termiosOf(s side) *linux.Termios {
	if s == masterSide {
		return &p.master
	}
	return &p.ld.termios
}

func getTermios(p *pty, ctx vfs.Context, s side, arg uintptr) (uintptr, error) {
	p.mu.Lock()
	t := *p.termiosOf(s)
	p.mu.Unlock()
	_, err := ctx.CopyOut(arg, encodeTermios(t))
	return 0, err
}

// setTermios is TCSETS and friends; flush discards the slave's unread
// input first (TCSETSF). The master's settings change nothing here.
func setTermios(flush bool) ptyIoctl {
	return func(p *pty, ctx vfs.Context, s side, arg uintptr) (uintptr, error) {
		b := make([]byte, linux.SizeofTermios)
		if _, err := ctx.CopyIn(arg, b); err != nil {
			return 0, err
		}
		t := decodeTermios(b)
		p.mu.Lock()
		defer p.mu.Unlock()
		if s == masterSide {
			p.master = t
			return 0, nil
		}
		if flush {
			p.ld.flushInput()
		}
		p.ld.setTermios(t)
		p.notifyLocked()
		return 0, nil
	}
}

func getWinsize(p *pty, ctx vfs.Context, _ side, arg uintptr) (uintptr, error) {
	p.mu.Lock()
	w := p.winsize
	p.mu.Unlock()
	var b [linux.SizeofWinsize]byte
	for i, v := range []uint16{w.Row, w.Col, w.Xpixel, w.Ypixel} {
		binary.LittleEndian.PutUint16(b[2*i:], v)
	}
	_, err := ctx.CopyOut(arg, b[:])
	return 0, err
}

// setWinsize changes the window size (one for both sides) and sends
// SIGWINCH to the foreground process group when it changed.
func setWinsize(p *pty, ctx vfs.Context, _ side, arg uintptr) (uintptr, error) {
	var b [linux.SizeofWinsize]byte
	if _, err := ctx.CopyIn(arg, b[:]); err != nil {
		return 0, err
	}
	var w linux.Winsize
	for i, f := range []*uint16{&w.Row, &w.Col, &w.Xpixel, &w.Ypixel} {
		*f = binary.LittleEndian.Uint16(b[2*i:])
	}
	p.mu.Lock()
	changed := w != p.winsize
	p.winsize = w
	p.mu.Unlock()
	if changed {
		p.signal(linux.SIGWINCH)
	}
	return 0, nil
}

// inQueue is FIONREAD: what a read on side s could take.
func inQueue(p *pty, ctx vfs.Context, s side, arg uintptr) (uintptr, error) {
	p.mu.Lock()
	n := len(p.ld.outq)
	if s == slaveSide {
		n = len(p.ld.readq)
	}
	p.mu.Unlock()
	return copyOutU32(ctx, arg, uint32(n))
}

// outQueue is TIOCOUTQ: output moves to the other side at once.
func outQueue(_ *pty, ctx vfs.Context, _ side, arg uintptr) (uintptr, error) {
	return copyOutU32(ctx, arg, 0)
}

// flushQueues is TCFLSH: arg selects the queue(s), as side s sees them.
func flushQueues(p *pty, _ vfs.Context, s side, arg uintptr) (uintptr, error) {
	var in, out bool
	switch arg {
	case linux.TCIFLUSH:
		in = true
	case linux.TCOFLUSH:
		out = true
	case linux.TCIOFLUSH:
		in, out = true, true
	default:
		return 0, linux.EINVAL
	}
	if s == masterSide {
		in, out = out, in // the master's input is the slave's output
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if in {
		p.ld.flushInput()
	}
	if out {
		p.ld.outq = nil
	}
	p.notifyLocked()
	return 0, nil
}

func getIndex(p *pty, ctx vfs.Context, _ side, arg uintptr) (uintptr, error) {
	return copyOutU32(ctx, arg, p.index)
}

func setLock(p *pty, ctx vfs.Context, _ side, arg uintptr) (uintptr, error) {
	v, err := copyInU32(ctx, arg)
	if err != nil {
		return 0, err
	}
	p.mu.Lock()
	p.locked = v != 0
	p.mu.Unlock()
	return 0, nil
}

func getLock(p *pty, ctx vfs.Context, _ side, arg uintptr) (uintptr, error) {
	p.mu.Lock()
	locked := p.locked
	p.mu.Unlock()
	var v uint32
	if locked {
		v = 1
	}
	return copyOutU32(ctx, arg, v)
}
