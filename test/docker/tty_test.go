package docker

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// openPty opens a new pseudo-terminal pair of 24x80 and returns its master
// and slave.
func openPty() (master, slave *os.File, err error) {
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("opening /dev/ptmx: %w", err)
	}
	master = os.NewFile(uintptr(fd), "/dev/ptmx")
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		master.Close()
		return nil, nil, fmt.Errorf("unlocking the pty: %w", err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		master.Close()
		return nil, nil, fmt.Errorf("getting the pty number: %w", err)
	}
	if err := unix.IoctlSetWinsize(fd, unix.TIOCSWINSZ, &unix.Winsize{Row: 24, Col: 80}); err != nil {
		master.Close()
		return nil, nil, fmt.Errorf("setting the pty size: %w", err)
	}
	name := fmt.Sprintf("/dev/pts/%d", n)
	slave, err = os.OpenFile(name, os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		master.Close()
		return nil, nil, fmt.Errorf("opening %s: %w", name, err)
	}
	return master, slave, nil
}

// ptyOutput collects what is read from a pty master.
type ptyOutput struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (o *ptyOutput) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// copyFrom reads r until it fails (EIO once every slave is closed).
func (o *ptyOutput) copyFrom(r *os.File) {
	b := make([]byte, 4096)
	for {
		n, err := r.Read(b)
		o.mu.Lock()
		o.buf.Write(b[:n])
		o.mu.Unlock()
		if err != nil {
			return
		}
	}
}

// ctrlCScript traps SIGINT in the shell and runs sleep in the foreground:
// ^C on the terminal interrupts sleep (status 130) and runs the trap.
const ctrlCScript = `trap 'echo got-INT' INT; echo "ready $(tty)"; sleep 60; echo "sleep-status $?"`

// TestDockerRunInteractiveCtrlC: `docker run -it` from a terminal gives
// the container a tty; ^C typed on it reaches the container's foreground
// process group as SIGINT.
func TestDockerRunInteractiveCtrlC(t *testing.T) {
	start(t)
	master, slave, err := openPty()
	if err != nil {
		t.Fatal(err)
	}
	defer master.Close()
	name := "bw-tty"
	_ = dockerd.CLI.Run("rm", "-f", name)
	t.Cleanup(func() { _ = dockerd.CLI.Run("rm", "-f", name) })
	args := append(append([]string(nil), dockerd.CLI.Global...),
		"run", "-it", "--rm", "--name", name, "--runtime="+runtimeNone, busyboxImage, "sh", "-c", ctrlCScript)
	cmd := exec.Command(dockerd.CLI.Bin, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		slave.Close()
		t.Fatalf("starting docker run -it: %v", err)
	}
	slave.Close()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Kill()
	}()
	var out ptyOutput
	go out.copyFrom(master)

	if !waitFor(30*time.Second, func() bool { return strings.Contains(out.String(), "ready ") }) {
		t.Fatalf("the container did not print \"ready\" within 30s; output so far: %q", out.String())
	}
	if !waitFor(time.Second, func() bool { return strings.Contains(out.String(), "ready /dev/") }) {
		t.Fatalf("the container's stdin is not a terminal (want \"ready /dev/<tty>\"); output: %q", out.String())
	}
	// ^C must reach sleep, not sh before it has started sleep.
	if !waitFor(20*time.Second, func() bool { return dockerd.CLI.Run("exec", name, "pidof", "sleep").ExitCode == 0 }) {
		t.Fatalf("sleep did not start in the container within 20s; output: %q", out.String())
	}
	begin := time.Now()
	if _, err := master.Write([]byte{0x03}); err != nil {
		t.Fatalf("typing ^C: %v", err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("docker run -it: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("^C did not end the sleep within 30s; output: %q", out.String())
	}
	if d := time.Since(begin); d > 20*time.Second {
		t.Errorf("the container ended %v after ^C: not because of it", d)
	}
	// The last output may still be in the pty when docker exits.
	wants := []string{"got-INT\n", "sleep-status 130\n"}
	var got string
	waitFor(5*time.Second, func() bool {
		got = strings.ReplaceAll(out.String(), "\r\n", "\n")
		return strings.Contains(got, wants[0]) && strings.Contains(got, wants[1])
	})
	for _, want := range wants {
		if !strings.Contains(got, want) {
			t.Errorf("output %q lacks %q: SIGINT did not reach the foreground process group", got, want)
		}
	}
}
