package syscalls

import (
	"encoding/binary"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/kernel"
	"bulwark.dev/pkg/kernel/auth"
	"bulwark.dev/pkg/vfs"
)

// jobControlIoctl handles one terminal request for sysIoctl.
type jobControlIoctl func(t *kernel.Task, f *vfs.File, arg uintptr) (uintptr, error)

// jobControlIoctls are the terminal requests the sandbox kernel answers
// itself: the controlling terminal and foreground group are facts about
// its sessions and process groups, not the host's, and TIOCGPTPEER makes
// an fd. The termios setters are passed on to the terminal once a
// background caller was dealt with (SIGTTOU).
var jobControlIoctls = map[uint32]jobControlIoctl{
	linux.TIOCGPTPEER: ioctlGetPTPeer,
	linux.TIOCSCTTY:   ioctlSetCTTY,
	linux.TIOCNOTTY:   ioctlNoTTY,
	linux.TIOCGPGRP:   ioctlGetPgrp,
	linux.TIOCSPGRP:   ioctlSetPgrp,
	linux.TIOCGSID:    ioctlGetSID,
	linux.TCSETS:      ioctlSetTermios(linux.TCSETS),
	linux.TCSETSW:     ioctlSetTermios(linux.TCSETSW),
	linux.TCSETSF:     ioctlSetTermios(linux.TCSETSF),
}

// terminalOf returns f's terminal id, or ENOTTY.
func terminalOf(f *vfs.File) (uint64, error) {
	if tf, ok := f.Impl().(kernel.TerminalFile); ok {
		if id, ok := tf.Terminal(); ok {
			return id, nil
		}
	}
	return 0, linux.ENOTTY
}

// ioctlSetCTTY is TIOCSCTTY; arg 1 asks to steal the terminal from
// another session (CAP_SYS_ADMIN). Like Linux, the file must be open for
// reading unless the caller has CAP_SYS_ADMIN.
func ioctlSetCTTY(t *kernel.Task, f *vfs.File, arg uintptr) (uintptr, error) {
	id, err := terminalOf(f)
	if err != nil {
		return 0, err
	}
	if !f.Readable() && !t.Credentials().HasCapability(auth.CapSysAdmin) {
		return 0, linux.EPERM
	}
	return 0, t.SetControllingTerminal(id, arg == 1)
}

func ioctlNoTTY(t *kernel.Task, f *vfs.File, _ uintptr) (uintptr, error) {
	id, err := terminalOf(f)
	if err != nil {
		return 0, err
	}
	return 0, t.ReleaseControllingTerminal(id)
}

// ioctlGetPgrp is TIOCGPGRP: on the caller's controlling terminal, or on
// a pty master (for its slave, whoever's terminal that is; 0 when it
// controls no session), as tmux's tcgetpgrp of its master expects.
func ioctlGetPgrp(t *kernel.Task, f *vfs.File, arg uintptr) (uintptr, error) {
	if m, ok := f.Impl().(kernel.TerminalMaster); ok {
		return 0, copyOutInt32(t, arg, t.Kernel().TerminalForeground(m.TerminalPeer()))
	}
	id, err := terminalOf(f)
	if err != nil {
		return 0, err
	}
	pg, err := t.ForegroundGroup(id)
	if err != nil {
		return 0, err
	}
	return 0, copyOutInt32(t, arg, pg)
}

// ptyPeerOpener is implemented by pty masters (pkg/fs/devpts).
type ptyPeerOpener interface {
	OpenPeer(ctx vfs.Context, flags uint32) (*vfs.File, error)
}

// ptyPeerFlags are the open(2) flags TIOCGPTPEER accepts.
const ptyPeerFlags = linux.O_ACCMODE | linux.O_NOCTTY | linux.O_NONBLOCK | linux.O_CLOEXEC

// ioctlGetPTPeer is TIOCGPTPEER: a new fd on the slave of a pty master,
// opened with the flags in arg.
func ioctlGetPTPeer(t *kernel.Task, f *vfs.File, arg uintptr) (uintptr, error) {
	po, ok := f.Impl().(ptyPeerOpener)
	if !ok {
		return 0, linux.ENOTTY
	}
	flags := uint32(arg)
	if flags&^ptyPeerFlags != 0 {
		return 0, linux.EINVAL
	}
	pf, err := po.OpenPeer(t, flags)
	if err != nil {
		return 0, err
	}
	defer pf.DecRef()
	fd, err := t.FDTable().NewFD(0, pf, vfs.FDFlags{CloseOnExec: flags&linux.O_CLOEXEC != 0})
	return uintptr(fd), err
}

func ioctlGetSID(t *kernel.Task, f *vfs.File, arg uintptr) (uintptr, error) {
	id, err := terminalOf(f)
	if err != nil {
		return 0, err
	}
	sid, err := t.TerminalSession(id)
	if err != nil {
		return 0, err
	}
	return 0, copyOutInt32(t, arg, sid)
}

func ioctlSetPgrp(t *kernel.Task, f *vfs.File, arg uintptr) (uintptr, error) {
	id, err := terminalOf(f)
	if err != nil {
		return 0, err
	}
	var b [4]byte
	if _, err := t.CopyIn(arg, b[:]); err != nil {
		return 0, err
	}
	return 0, t.SetForegroundGroup(id, int32(binary.LittleEndian.Uint32(b[:])))
}

// ioctlSetTermios checks job control (a background group gets SIGTTOU)
// before the terminal changes its settings.
func ioctlSetTermios(cmd uint32) jobControlIoctl {
	return func(t *kernel.Task, f *vfs.File, arg uintptr) (uintptr, error) {
		if id, err := terminalOf(f); err == nil {
			if err := t.TerminalAccess(id, linux.SIGTTOU); err != nil {
				return 0, err
			}
		}
		return f.Ioctl(t, cmd, arg)
	}
}

func copyOutInt32(t *kernel.Task, addr uintptr, v int32) error {
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], uint32(v))
	_, err := t.CopyOut(addr, b[:])
	return err
}
