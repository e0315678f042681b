package stub

import (
	"fmt"
	"syscall"

	"golang.org/x/sys/unix"
)

// Executable returns a CLOEXEC memfd named name holding the stub
// executable elf, at fd 10 or above so that it survives the child's fd
// shuffling until exec.
func Executable(name string, elf []byte) (int, error) {
	fd, err := unix.MemfdCreate(name, unix.MFD_CLOEXEC)
	if err != nil {
		return -1, fmt.Errorf("creating stub memfd: %w", err)
	}
	defer unix.Close(fd)
	if _, err := unix.Write(fd, elf); err != nil {
		return -1, fmt.Errorf("writing stub memfd: %w", err)
	}
	hi, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 10)
	if err != nil {
		return -1, fmt.Errorf("duplicating stub memfd: %w", err)
	}
	return hi, nil
}

// CloseFD in StartMaster's files closes that fd in the master.
const CloseFD = ^uintptr(0)

// StartMaster starts the stub executable exe (from Executable) as the
// master stub, traced by the calling thread with options, with files as
// its fds, and runs it to the int3 that ends its start-up code, which
// must leave it at syscallAddr. On failure the master is killed.
func StartMaster(exe int, files []uintptr, options int, syscallAddr uintptr, gone error) (*Thread, error) {
	pid, err := syscall.ForkExec(fmt.Sprintf("/proc/self/fd/%d", exe), []string{"bulwark-stub"},
		&syscall.ProcAttr{
			Env:   []string{},
			Files: files,
			Sys:   &syscall.SysProcAttr{Ptrace: true, Setsid: true, Pdeathsig: syscall.SIGKILL},
		})
	if err != nil {
		return nil, fmt.Errorf("starting master stub: %w", err)
	}
	m := NewThread(pid, pid, syscallAddr, gone)
	m.OpenPidfd()
	if err := m.runToReady(options); err != nil {
		m.Kill()
		m.ClosePidfd()
		return nil, err
	}
	return m, nil
}

// runToReady runs a freshly exec'd master to its ready int3.
func (m *Thread) runToReady(options int) error {
	if _, err := m.Wait(); err != nil { // the SIGTRAP after execve
		return err
	}
	if err := m.Check("PTRACE_SETOPTIONS", unix.PtraceSetOptions(m.PID, options)); err != nil {
		return err
	}
	for {
		if err := m.Check("PTRACE_CONT", unix.PtraceCont(m.PID, 0)); err != nil {
			return err
		}
		ws, err := m.Wait()
		if err != nil {
			return err
		}
		if StopSignal(ws) == unix.SIGTRAP {
			break
		}
	}
	if err := m.Check("PTRACE_GETREGS", unix.PtraceGetRegs(m.PID, &m.Base)); err != nil {
		return err
	}
	if uintptr(m.Base.Rip) != m.syscallAddr {
		return fmt.Errorf("master stub stopped at %#x, want %#x", m.Base.Rip, m.syscallAddr)
	}
	return nil
}
