package console

import (
	"io"
	"os"
	"os/signal"
	"time"

	"golang.org/x/sys/unix"
)

// drainLimit bounds how long Close waits for the container's last output.
const drainLimit = 2 * time.Second

// Relay joins a new pty to runsc's own stdin and stdout, for a foreground
// container (or exec) with a terminal and no console socket, as runc does:
// the container gets the slave, runsc copies between its stdio and the
// master, and when its stdin is a terminal puts that terminal in raw mode
// (so ^C, ^Z and the line editing reach the container's terminal, whose
// line discipline handles them) and passes its window size on, until
// Close restores it.
type Relay struct {
	master *os.File
	in     *os.File
	saved  *unix.Termios // in's settings before raw mode; nil if in is no terminal
	winch  chan os.Signal
	copied chan struct{} // closed when the master's output has all been copied
}

// Attach makes a pty, starts relaying between it and in/out, and returns
// the relay and the slave to give to the container (the caller closes its
// copy once the container holds it).
func Attach(in, out *os.File) (*Relay, *os.File, error) {
	master, slave, err := NewPty()
	if err != nil {
		return nil, nil, err
	}
	r := &Relay{master: master, in: in, copied: make(chan struct{})}
	if t, err := unix.IoctlGetTermios(int(in.Fd()), unix.TCGETS); err == nil {
		saved := *t
		raw := *t
		makeRaw(&raw)
		if err := unix.IoctlSetTermios(int(in.Fd()), unix.TCSETS, &raw); err == nil {
			r.saved = &saved
		}
		r.resize()
		r.winch = make(chan os.Signal, 1)
		signal.Notify(r.winch, unix.SIGWINCH)
		go func() {
			for range r.winch {
				r.resize()
			}
		}()
	}
	go io.Copy(master, in) // ends with runsc
	go func() {
		io.Copy(out, master) // until EIO: every slave fd is closed
		close(r.copied)
	}()
	return r, slave, nil
}

// resize copies the caller's window size to the pty.
func (r *Relay) resize() {
	if ws, err := unix.IoctlGetWinsize(int(r.in.Fd()), unix.TIOCGWINSZ); err == nil {
		unix.IoctlSetWinsize(int(r.master.Fd()), unix.TIOCSWINSZ, ws)
	}
}

// Close waits (a bounded time) for the container's last output, then
// restores the caller's terminal. Call it once the container is gone.
func (r *Relay) Close() {
	select {
	case <-r.copied:
	case <-time.After(drainLimit):
	}
	if r.winch != nil {
		signal.Stop(r.winch)
		close(r.winch)
	}
	r.Restore()
	r.master.Close()
}

// Restore puts the caller's terminal back as Attach found it.
func (r *Relay) Restore() {
	if r.saved != nil {
		unix.IoctlSetTermios(int(r.in.Fd()), unix.TCSETS, r.saved)
	}
}

// makeRaw turns t into raw mode, as cfmakeraw(3) does.
func makeRaw(t *unix.Termios) {
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB
	t.Cflag |= unix.CS8
	t.Cc[unix.VMIN] = 1
	t.Cc[unix.VTIME] = 0
}
