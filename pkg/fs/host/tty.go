package host

import "bulwark.dev/pkg/abi/linux"

// Terminal implements kernel.TerminalFile: a host tty is known to the
// sandbox kernel by its host device number, so stdin, stdout and stderr
// (reopened or not) on the same tty are one terminal.
func (s *streamFile) Terminal() (uint64, bool) { return s.rdev, s.tty }

// terminalAccess is implemented by the sandbox kernel's tasks (the
// vfs.Context of a system call): job control for terminal reads.
type terminalAccess interface {
	TerminalAccess(id uint64, sig int) error
}

// checkTTYRead lets the caller's kernel stop a background reader of its
// controlling terminal (SIGTTIN), as the host's line discipline would.
func (s *streamFile) checkTTYRead(ctx any) error {
	if !s.tty {
		return nil
	}
	if ta, ok := ctx.(terminalAccess); ok {
		return ta.TerminalAccess(s.rdev, linux.SIGTTIN)
	}
	return nil
}
