// Package console makes the host pseudo-terminals of containers whose
// process.terminal is true, and hands their master end over: to the caller
// of --console-socket, with runc's protocol (one message on a unix stream
// socket carrying the master fd in SCM_RIGHTS and the name "/dev/ptmx" as
// data), or to a relay that joins it to runsc's own terminal.
package console

import (
	"errors"
	"fmt"
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// masterName is the name sent with the master fd, as runc does.
const masterName = "/dev/ptmx"

// NewPty opens a new pseudo-terminal pair: the master and its slave, both
// close-on-exec and neither becoming runsc's controlling terminal.
func NewPty() (master, slave *os.File, err error) {
	m, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("opening /dev/ptmx: %w", err)
	}
	master = os.NewFile(uintptr(m), masterName)
	if err := unix.IoctlSetPointerInt(m, unix.TIOCSPTLCK, 0); err != nil {
		master.Close()
		return nil, nil, fmt.Errorf("unlocking the pty: %w", err)
	}
	// TIOCGPTPEER opens the slave without a path lookup in /dev/pts; its
	// argument is the open flags.
	r, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(m), unix.TIOCGPTPEER, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC)
	if e != 0 {
		master.Close()
		return nil, nil, fmt.Errorf("opening the pty slave: %w", e)
	}
	s := int(r)
	n, err := unix.IoctlGetUint32(m, unix.TIOCGPTN)
	name := "/dev/pts/?"
	if err == nil {
		name = fmt.Sprintf("/dev/pts/%d", n)
	}
	return master, os.NewFile(uintptr(s), name), nil
}

// SendMaster connects to the unix socket at path and sends master over it
// the way runc does. The receiver gets its own copy; the caller still owns
// master.
func SendMaster(path string, master *os.File) error {
	conn, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return fmt.Errorf("connecting to the console socket %q: %w", path, err)
	}
	defer conn.Close()
	if err := sendMaster(conn, master); err != nil {
		return fmt.Errorf("sending the pty master to the console socket %q: %w", path, err)
	}
	return nil
}

// sendMaster writes the one message carrying master on conn.
func sendMaster(conn *net.UnixConn, master *os.File) error {
	rc, err := master.SyscallConn()
	if err != nil {
		return err
	}
	var n, oobn, want int
	var werr error
	err = rc.Control(func(fd uintptr) {
		oob := unix.UnixRights(int(fd))
		want = len(oob)
		n, oobn, werr = conn.WriteMsgUnix([]byte(masterName), oob, nil)
	})
	if err == nil {
		err = werr
	}
	if err == nil && (n != len(masterName) || oobn != want) {
		err = errors.New("short write")
	}
	return err
}

// ReceiveMaster reads one message from conn, as a console-socket server
// does, and returns the fd it carries as a file named by the message.
func ReceiveMaster(conn *net.UnixConn) (*os.File, error) {
	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(4*4)) // room for a few fds
	n, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
	if err != nil {
		return nil, fmt.Errorf("receiving the pty master: %w", err)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil {
		return nil, fmt.Errorf("receiving the pty master: %w", err)
	}
	var fds []int
	for _, m := range msgs {
		got, err := unix.ParseUnixRights(&m)
		if err == nil {
			fds = append(fds, got...)
		}
	}
	if len(fds) != 1 {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return nil, fmt.Errorf("receiving the pty master: got %d fds, want 1", len(fds))
	}
	unix.CloseOnExec(fds[0])
	return os.NewFile(uintptr(fds[0]), string(buf[:n])), nil
}
