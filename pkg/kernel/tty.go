package kernel

import (
	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/kernel/auth"
)

// Controlling terminals and foreground process groups.
//
// A terminal is known to the kernel by an id its files report (a host tty
// reports its host device number). Its line discipline (echo, canonical
// mode, termios, window size) lives wherever the device does; the kernel
// only keeps the job-control part: which session the terminal controls and
// which process group of that session is in the foreground.
//
// The controlling terminal belongs to the session (Linux keeps a pointer
// per process, equal for every member unless one called TIOCNOTTY). A
// terminal controls its session while the session's leader lives: when the
// leader exits the terminal is free again (this kernel does not send the
// SIGHUP Linux sends to the foreground group then). All state is protected
// by Kernel.mu.

// TerminalFile is implemented by file implementations that may be
// terminals. Terminal reports the terminal's id, or ok false when the file
// is not a terminal.
type TerminalFile interface {
	Terminal() (id uint64, ok bool)
}

// TerminalMaster is implemented by the master side of a pseudo-terminal:
// TerminalPeer is the id of its slave.
type TerminalMaster interface {
	TerminalPeer() uint64
}

// LocalTerminal is set in the ids of the terminals the sandbox kernel
// implements itself (its pseudo-terminals); an id without it is a host
// tty's device number. Either way the other bits are the terminal's
// device number as vfs.MakeDev encodes it.
const LocalTerminal uint64 = 1 << 63

// TerminalDevice returns the device number of terminal id (tty_nr of
// /proc/[pid]/stat).
func TerminalDevice(id uint64) uint32 { return uint32(id &^ LocalTerminal) }

// terminal is the job-control state of one terminal.
type terminal struct {
	sid  int32 // session it controls; 0: none
	pgrp int32 // foreground process group
}

// terminalLocked returns the state of terminal id, creating it.
func (k *Kernel) terminalLocked(id uint64) *terminal {
	if k.ttys == nil {
		k.ttys = map[uint64]*terminal{}
	}
	tt := k.ttys[id]
	if tt == nil {
		tt = &terminal{}
		k.ttys[id] = tt
	}
	return tt
}

// controllingLocked returns terminal id's state if it controls a session
// whose leader is alive, else nil (and frees it).
func (k *Kernel) controllingLocked(id uint64) *terminal {
	tt := k.ttys[id]
	if tt == nil || tt.sid == 0 {
		return nil
	}
	if l := k.tgs[tt.sid]; l == nil || l.zombie || l.sid != tt.sid {
		tt.sid, tt.pgrp = 0, 0
		return nil
	}
	return tt
}

// sessionTerminalLocked returns the id and state of the controlling
// terminal of session sid, or nil.
func (k *Kernel) sessionTerminalLocked(sid int32) (uint64, *terminal) {
	for id, tt := range k.ttys {
		if tt.sid == sid && k.controllingLocked(id) != nil {
			return id, tt
		}
	}
	return 0, nil
}

// ControllingTerminal returns the id of t's controlling terminal, ok
// false when it has none (opening /dev/tty then fails with ENXIO).
func (t *Task) ControllingTerminal() (id uint64, ok bool) {
	id, _, ok = t.k.SessionTerminal(t.tg.sid)
	return id, ok
}

// SessionTerminal returns the controlling terminal of session sid and its
// foreground process group (tty_nr and tpgid of /proc/[pid]/stat), ok
// false when the session has none.
func (k *Kernel) SessionTerminal(sid int32) (id uint64, fg int32, ok bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	id, tt := k.sessionTerminalLocked(sid)
	if tt == nil {
		return 0, 0, false
	}
	return id, tt.pgrp, true
}

// TerminalForeground returns the foreground process group of terminal id,
// 0 when it controls no session: TIOCGPGRP on a pty master, which need
// not be the caller's controlling terminal.
func (k *Kernel) TerminalForeground(id uint64) int32 {
	k.mu.Lock()
	defer k.mu.Unlock()
	if tt := k.controllingLocked(id); tt != nil {
		return tt.pgrp
	}
	return 0
}

// ctermLocked returns terminal id's state if it is t's controlling
// terminal, else nil.
func (t *Task) ctermLocked(id uint64) *terminal {
	tt := t.k.controllingLocked(id)
	if tt == nil || tt.sid != t.tg.sid {
		return nil
	}
	return tt
}

// AttachTerminal makes terminal id the controlling terminal of tg's
// session with tg's process group in the foreground, as if tg's session
// leader had opened it: used for the container's init and exec'd
// processes, whose stdio is a terminal, before they start.
func (tg *ThreadGroup) AttachTerminal(id uint64) error {
	k := tg.k
	k.mu.Lock()
	defer k.mu.Unlock()
	if tg.sid != tg.pid {
		return linux.EPERM
	}
	if tt := k.controllingLocked(id); tt != nil && tt.sid != tg.sid {
		return linux.EPERM
	}
	tt := k.terminalLocked(id)
	tt.sid, tt.pgrp = tg.sid, tg.pgid
	return nil
}

// SetControllingTerminal implements TIOCSCTTY: the caller must lead its
// session, which must have no controlling terminal; a terminal controlling
// another session is taken only with steal and CAP_SYS_ADMIN.
func (t *Task) SetControllingTerminal(id uint64, steal bool) error {
	k := t.k
	k.mu.Lock()
	defer k.mu.Unlock()
	if t.ctermLocked(id) != nil {
		return nil // already ours
	}
	if _, own := k.sessionTerminalLocked(t.tg.sid); t.tg.sid != t.tg.pid || own != nil {
		return linux.EPERM
	}
	if k.controllingLocked(id) != nil && !(steal && t.Credentials().HasCapability(auth.CapSysAdmin)) {
		return linux.EPERM
	}
	tt := k.terminalLocked(id)
	tt.sid, tt.pgrp = t.tg.sid, t.tg.pgid
	return nil
}

// ReleaseControllingTerminal implements TIOCNOTTY: ENOTTY unless id is the
// caller's controlling terminal. When the session leader gives it up, the
// foreground group gets SIGHUP and SIGCONT and the session loses it; for
// another member it is a no-op here (see the package comment).
func (t *Task) ReleaseControllingTerminal(id uint64) error {
	k := t.k
	k.mu.Lock()
	defer k.mu.Unlock()
	tt := t.ctermLocked(id)
	if tt == nil {
		return linux.ENOTTY
	}
	if t.tg.pid != t.tg.sid {
		return nil
	}
	fg := tt.pgrp
	tt.sid, tt.pgrp = 0, 0
	for _, sig := range []int{linux.SIGHUP, linux.SIGCONT} {
		k.signalGroupLocked(fg, sig)
	}
	return nil
}

// ForegroundGroup implements TIOCGPGRP: the foreground process group of
// the caller's controlling terminal id (ENOTTY if it is not that).
func (t *Task) ForegroundGroup(id uint64) (int32, error) {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	tt := t.ctermLocked(id)
	if tt == nil {
		return 0, linux.ENOTTY
	}
	return tt.pgrp, nil
}

// TerminalSession implements TIOCGSID: the session terminal id controls,
// if it is the caller's controlling terminal (ENOTTY otherwise).
func (t *Task) TerminalSession(id uint64) (int32, error) {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	tt := t.ctermLocked(id)
	if tt == nil {
		return 0, linux.ENOTTY
	}
	return tt.sid, nil
}

// SetForegroundGroup implements TIOCSPGRP: id must be the caller's
// controlling terminal (ENOTTY), a background caller is stopped with
// SIGTTOU unless it ignores or blocks it (see TerminalAccess), and pgrp
// must be a process group of the caller's session (ESRCH if none has that
// id, EPERM if it is in another session).
func (t *Task) SetForegroundGroup(id uint64, pgrp int32) error {
	k := t.k
	k.mu.Lock()
	defer k.mu.Unlock()
	tt := t.ctermLocked(id)
	if tt == nil {
		return linux.ENOTTY
	}
	if err := t.checkChangeLocked(tt, linux.SIGTTOU); err != nil {
		return err
	}
	if pgrp < 0 {
		return linux.EINVAL
	}
	found := false
	for _, tg := range k.tgs {
		if tg.zombie || tg.pgid != pgrp {
			continue
		}
		if tg.sid != t.tg.sid {
			return linux.EPERM
		}
		found = true
	}
	if !found {
		return linux.ESRCH
	}
	tt.pgrp = pgrp
	return nil
}

// TerminalAccess checks that the caller may read (sig SIGTTIN) or change
// the settings of (sig SIGTTOU) terminal id. A caller outside the
// foreground group of its controlling terminal gets sig sent to its whole
// group and linux.ERESTARTSYS, so the call runs again once it is
// continued in the foreground; one that ignores or blocks sig is let
// through for SIGTTOU and gets EIO for SIGTTIN; an orphaned group gets
// EIO. A terminal that is not the caller's controlling one is not
// checked.
func (t *Task) TerminalAccess(id uint64, sig int) error {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	tt := t.ctermLocked(id)
	if tt == nil {
		return nil
	}
	return t.checkChangeLocked(tt, sig)
}

// checkChangeLocked is Linux's tty_check_change for t and tt.
func (t *Task) checkChangeLocked(tt *terminal, sig int) error {
	if tt.pgrp == 0 || t.tg.pgid == tt.pgrp {
		return nil
	}
	k := t.k
	if (t.mask|t.realMask)&sigBit(sig) != 0 || t.tg.actions[sig-1].Handler == linux.SIG_IGN {
		if sig == linux.SIGTTIN {
			return linux.EIO
		}
		return nil
	}
	if k.orphanedPgrpLocked(t.tg.pgid) {
		return linux.EIO
	}
	k.signalGroupLocked(t.tg.pgid, sig)
	return linux.ERESTARTSYS
}

// SignalForeground sends sig, as the terminal's line discipline does for
// ^C, ^\, ^Z or a window-size change, to the foreground process group of
// terminal id. It reports ESRCH when the terminal controls no session.
func (k *Kernel) SignalForeground(id uint64, sig int) error {
	if sig <= 0 || sig > linux.NumSignals {
		return linux.EINVAL
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	tt := k.controllingLocked(id)
	if tt == nil {
		return linux.ESRCH
	}
	k.signalGroupLocked(tt.pgrp, sig)
	return nil
}

// HangUpTerminal is what a hang-up of terminal id (its other end closed)
// does: SIGHUP and SIGCONT to the session leader and the foreground
// group; the kernel then forgets the terminal (it controls no session).
func (k *Kernel) HangUpTerminal(id uint64) {
	k.mu.Lock()
	defer k.mu.Unlock()
	tt := k.controllingLocked(id)
	delete(k.ttys, id)
	if tt == nil {
		return
	}
	sid, fg := tt.sid, tt.pgrp
	for _, sig := range []int{linux.SIGHUP, linux.SIGCONT} {
		if l := k.tgs[sid]; l != nil && l.pgid != fg {
			k.sendGroupLocked(l, kernelInfo(sig), sendFromSandbox)
		}
		k.signalGroupLocked(fg, sig)
	}
}

// signalGroupLocked sends sig from the kernel to every live member of
// process group pgrp. Like Linux's tty signals, it does not reach an init
// that left sig at its default action.
func (k *Kernel) signalGroupLocked(pgrp int32, sig int) {
	if pgrp <= 0 {
		return
	}
	for _, tg := range k.sortedTGsLocked() {
		if !tg.zombie && tg.pgid == pgrp {
			k.sendGroupLocked(tg, kernelInfo(sig), sendFromSandbox)
		}
	}
}
