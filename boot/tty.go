package boot

import (
	"fmt"
	"log"
	"os"
	"os/signal"
	"sync"

	"bulwark.dev/pkg/fs/devpts"
	"bulwark.dev/pkg/kernel"

	"golang.org/x/sys/unix"
)

// Terminals.
//
// With process.terminal a process's stdio is a host pty slave (runsc made
// the pair and holds, or sent away, the master). The host's line
// discipline does echo, canonical mode and termios; the sandbox kernel
// keeps the job control (controlling terminal, foreground group) of its
// own sessions. Keyboard signals come from the host: the sandbox process
// makes the slave its own host controlling terminal, so the host kernel
// sends it SIGINT, SIGQUIT and SIGTSTP for ^C, ^\ and ^Z, SIGWINCH when
// the window size changes, and SIGHUP when the master is closed. The
// sandbox passes them on to the foreground process group of that terminal
// in its kernel.
//
// A host process has one controlling terminal at a time: the container's
// (taken at boot, before the seccomp filter), or else the terminal of the
// latest exec'd process with one, taken when no other is held. A detached
// exec's terminal is usually taken already by the host process standing
// for it (`runsc exec-wait` makes it its controlling terminal and passes
// the keyboard's signals on through the control socket); an exec'd
// process's terminal is in any case its controlling terminal in the
// sandbox kernel, so job control works.
//
// Each such terminal (a host Unix98 pty slave) also appears in the
// sandbox's /dev/pts as N, its host index, until the host hangs it up:
// the host files of its fds are named "/dev/pts/N" (pkg/fs/host), so
// ttyname(3) and tty(1) work inside.

// sandboxPTYs are the terminals shown in the sandbox's /dev/pts: these
// host terminals and the ptys the sandbox's programs make by opening
// /dev/ptmx, which, with /dev/tty, open through it. A boot process runs
// one sandbox, so one set serves every devpts it mounts.
var sandboxPTYs = func() *devpts.Terminals {
	ts := devpts.NewTerminals()
	ts.RegisterDevices()
	return ts
}()

// terminalSignals are the host signals a terminal sends that are passed on
// to the sandbox kernel's foreground group.
var terminalSignals = []os.Signal{unix.SIGINT, unix.SIGQUIT, unix.SIGTSTP, unix.SIGWINCH}

// hostTerminal is a terminal on the host.
type hostTerminal struct {
	fd int    // a host fd of the slave (for the init: one of its stdio fds)
	id uint64 // its host device number: the kernel's terminal id
}

// ttyOf returns the terminal fd is, or nil when it is no tty.
func ttyOf(fd int) *hostTerminal {
	if _, err := unix.IoctlGetTermios(fd, unix.TCGETS); err != nil {
		return nil
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil
	}
	return &hostTerminal{fd: fd, id: st.Rdev}
}

// takeTerminal makes the container's stdin the sandbox process's host
// controlling terminal when the spec asks for a terminal and stdin is one.
// It runs before the seccomp filter. It returns nil when there is no
// terminal to take.
func takeTerminal(terminal bool, stdin int) (*hostTerminal, error) {
	if !terminal {
		return nil, nil
	}
	ht := ttyOf(stdin)
	if ht == nil {
		return nil, nil // not a tty: the caller's stdio is used as it is
	}
	// runsc starts the sandbox in a session of its own; lead one if not.
	if sid, _ := unix.Getsid(0); sid != unix.Getpid() {
		if _, err := unix.Setsid(); err != nil {
			return nil, fmt.Errorf("terminal: setsid: %w", err)
		}
	}
	if err := unix.IoctlSetInt(stdin, unix.TIOCSCTTY, 0); err != nil {
		return nil, fmt.Errorf("terminal: making the container's tty the sandbox's controlling terminal: %w", err)
	}
	return ht, nil
}

// terminals passes the host signals of the sandbox's controlling terminal
// on to the kernel.
type terminals struct {
	k   *kernel.Kernel
	log *log.Logger

	mu  sync.Mutex
	cur *hostTerminal // the sandbox's host controlling terminal, or nil
	ch  chan os.Signal
}

// newTerminals starts forwarding for cur (the container's terminal, or
// nil until an exec'd process brings one).
func newTerminals(k *kernel.Kernel, cur *hostTerminal, logger *log.Logger) *terminals {
	ts := &terminals{k: k, log: logger}
	if cur != nil {
		ts.show(cur.fd)
		ts.mu.Lock()
		ts.listenLocked()
		ts.cur = cur
		ts.mu.Unlock()
	}
	return ts
}

// listenLocked starts catching the terminal signals (once).
func (ts *terminals) listenLocked() {
	if ts.ch != nil {
		return
	}
	ts.ch = make(chan os.Signal, 16)
	signal.Notify(ts.ch, append(terminalSignals, unix.SIGHUP)...)
	// Stops from the host terminal must not stop the sandbox itself.
	signal.Ignore(unix.SIGTTIN, unix.SIGTTOU)
	go ts.forward(ts.ch)
}

// forward passes each caught signal on until the channel is closed.
func (ts *terminals) forward(ch chan os.Signal) {
	for s := range ch {
		sig := s.(unix.Signal)
		ts.mu.Lock()
		cur := ts.cur
		if sig == unix.SIGHUP {
			// The master was closed: the host dropped the terminal.
			ts.cur = nil
		}
		ts.mu.Unlock()
		if cur == nil {
			continue
		}
		if sig == unix.SIGHUP {
			ts.log.Printf("terminal hung up")
			ts.k.HangUpTerminal(cur.id)
			continue
		}
		if err := ts.k.SignalForeground(cur.id, int(sig)); err != nil {
			ts.log.Printf("terminal %s: no foreground group: %v", unix.SignalName(sig), err)
		}
	}
}

// attach makes the terminal of stdin (if it is one) the controlling
// terminal of tg's session, before tg starts, and when the sandbox holds
// no host controlling terminal, takes it as its own so keyboard signals
// reach tg's foreground group. It is for exec'd processes whose spec asks
// for a terminal.
func (ts *terminals) attach(tg *kernel.ThreadGroup, stdin *os.File) {
	if ts == nil || stdin == nil {
		return
	}
	rc, err := stdin.SyscallConn()
	if err != nil {
		return
	}
	var ht *hostTerminal
	rc.Control(func(fd uintptr) { ht = ttyOf(int(fd)) })
	if ht == nil {
		return
	}
	if err := tg.AttachTerminal(ht.id); err != nil {
		ts.log.Printf("attaching a terminal to pid %d: %v", tg.PID(), err)
		return
	}
	rc.Control(func(fd uintptr) { ts.show(int(fd)) })
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.cur != nil {
		return
	}
	var terr error
	rc.Control(func(fd uintptr) { terr = unix.IoctlSetInt(int(fd), unix.TIOCSCTTY, 0) })
	if terr != nil {
		ts.log.Printf("pid %d: its terminal is not the sandbox's host controlling terminal (%v); its keyboard signals come from the exec's host process, if it holds it", tg.PID(), terr)
		return
	}
	ts.listenLocked()
	ts.cur = ht
}

// show makes host tty fd appear in the sandbox's /dev/pts (on a
// duplicate; fd stays the caller's). A tty that is no pty slave is not
// shown.
func (ts *terminals) show(fd int) {
	dup, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		ts.log.Printf("terminal: not shown in /dev/pts: dup: %v", err)
		return
	}
	n, err := sandboxPTYs.Add(dup)
	if err != nil {
		ts.log.Printf("terminal: not shown in /dev/pts: %v", err)
		return
	}
	ts.log.Printf("terminal: shown as /dev/pts/%d", n)
}

// stop ends forwarding.
func (ts *terminals) stop() {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.ch != nil {
		signal.Stop(ts.ch)
		close(ts.ch)
		ts.ch = nil
	}
	ts.cur = nil
}
