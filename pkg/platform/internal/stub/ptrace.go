package stub

import "golang.org/x/sys/unix"

// ptrace requests missing from x/sys/unix.
const (
	PtraceGetsiginfo = 0x4202
	PtraceSeize      = 0x4206
	PtraceInterrupt  = 0x4207
)

// Ptrace makes the raw ptrace system call req on pid.
func Ptrace(req int, pid int, addr, data uintptr) error {
	_, _, e := unix.Syscall6(unix.SYS_PTRACE, uintptr(req), uintptr(pid), addr, data, 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

// StopSignal is the signal of a stop, or 0 for a ptrace event stop (such as
// the group-stop of a seized stub) that carries no signal to suppress.
func StopSignal(ws unix.WaitStatus) unix.Signal {
	if uint32(ws)>>16 != 0 { // PTRACE_EVENT_* in bits 16-23
		return 0
	}
	return ws.StopSignal()
}
