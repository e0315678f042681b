// Package boot is the sandbox process (`runsc boot`): it reads the spec,
// confines itself into an empty root, builds the kernel and its mount tree
// from the spec, and serves the control socket (start the init, signal,
// wait, ps, destroy) until the container's init exits.
package boot

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"runtime"
	"time"

	"bulwark.dev/boot/control"
	"bulwark.dev/pkg/fs/host"
	"bulwark.dev/pkg/kernel"
	"bulwark.dev/pkg/mm"
	"bulwark.dev/pkg/syscalls"
	"bulwark.dev/runsc/config"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Kernel identity reported by uname.
const (
	Release = "5.15.0-bulwark"
	Version = "#1 SMP Bulwark"
)

// memoryFileSize is the (sparse) size of the memory file backing all
// application memory.
const memoryFileSize = 16 << 30

// drainLimit bounds how long the sandbox waits, before exiting, for the
// answers to pending control calls to be written.
const drainLimit = 2 * time.Second

// Args are the inputs of `runsc boot`: inherited fds named by flags.
type Args struct {
	ID           string
	BundleDir    string
	Conf         *config.Config
	SpecFD       int   // the spec as JSON (read from offset 0)
	ControllerFD int   // listening unix stream socket: the control socket
	ExitFD       int   // exit-status file
	StdioFDs     []int // the container's stdin, stdout, stderr
	IOFDs        []int // gofer connections: root, then bind mounts in spec order
}

// Run boots the sandbox and serves it until the init exits (or Destroy).
// It returns the exit code of the sandbox process: the init's status as a
// shell reports it. An error means the sandbox could not boot.
func Run(a Args) (int, error) {
	if err := checkArgs(a); err != nil {
		return 1, err
	}
	// Nothing the sandbox inherited may leak into stub processes.
	for _, fd := range append(append([]int{a.SpecFD, a.ControllerFD, a.ExitFD}, a.StdioFDs...), a.IOFDs...) {
		unix.CloseOnExec(fd)
	}
	spec, err := readSpec(a.SpecFD)
	if err != nil {
		return 1, err
	}
	netMode := control.NetworkMode(a.Conf.Network, spec)
	plan, err := PlanMounts(spec, a.Conf.Overlay)
	if err != nil {
		return 1, fmt.Errorf("planning mounts: %w", err)
	}
	if n := GoferConnections(plan); n != len(a.IOFDs) {
		return 1, fmt.Errorf("the spec needs %d gofer connections, got %d io fds", n, len(a.IOFDs))
	}

	// Host paths are reachable until confine: open what is needed now.
	logFile, err := a.Conf.OpenDebugLog(a.ID, "boot")
	if err != nil {
		return 1, err
	}
	var logw io.Writer
	if logFile != nil {
		logw = logFile
	}
	logger := a.Conf.NewLogger(logw, "boot: ")
	logger.Printf("booting sandbox %q, bundle %q", a.ID, a.BundleDir)
	mem, err := totalMemory(spec)
	if err != nil {
		return 1, err
	}
	mf, err := mm.NewMemoryFile("bulwark-memory", memoryFileSize)
	if err != nil {
		return 1, fmt.Errorf("creating the memory file: %w", err)
	}
	plat, err := newPlatform(a.Conf.Platform, mf.FD())
	if err != nil {
		return 1, err
	}
	stdio := reopenStdio(a.StdioFDs, logger)
	tty, err := takeTerminal(spec.Process.Terminal, a.StdioFDs[0])
	if err != nil {
		return 1, err
	}
	if err := setupNetwork(netMode); err != nil {
		return 1, err
	}
	stopProfile, err := startProfile(a.Conf.ProfileCPU)
	if err != nil {
		return 1, err
	}
	defer stopProfile()
	if err := confine(spec.Hostname); err != nil {
		return 1, fmt.Errorf("confining the sandbox: %w", err)
	}
	if err := installFilter(a.Conf.ProfileCPU != ""); err != nil {
		return 1, err
	}

	k, err := kernel.New(kernel.Config{
		Platform:    plat,
		MemoryFile:  mf,
		Syscalls:    syscalls.Table(),
		Hostname:    spec.Hostname,
		Release:     Release,
		Version:     Version,
		Strace:      a.Conf.Strace,
		Log:         logger,
		NumCPU:      runtime.NumCPU(),
		TotalMemory: mem,
	})
	if err != nil {
		return 1, fmt.Errorf("creating the kernel: %w", err)
	}
	if err := registerNetwork(k); err != nil {
		return 1, err
	}
	ns, err := buildMounts(k, plan, a.IOFDs, a.Conf, logger)
	if err != nil {
		return 1, fmt.Errorf("mounting the container's filesystems: %w", err)
	}
	if err := applyPathRules(ns, spec, logger); err != nil {
		return 1, fmt.Errorf("applying the spec's devices, read-only and masked paths: %w", err)
	}

	ttys := newTerminals(k, tty, logger)
	defer ttys.stop()
	procs := &kernelProcs{k: k, spec: spec, ns: ns, stdioFDs: stdio, tty: tty, ttys: ttys, log: logger}
	exitFile := os.NewFile(uintptr(a.ExitFD), "exit")
	ctl := newController(procs, exitFile, logger)
	ctl.initExited = stopProfile
	code, err := serve(ctl, a.ControllerFD)
	logger.Printf("sandbox exiting with status %d", code)
	return code, err
}

// reopenStdio gives the sandbox its own host fds for the container's
// stdio with host.Reopen, which needs /proc and so runs before confine:
// pipes and ttys get open file descriptions of their own, on which the
// sandbox may set O_NONBLOCK without the caller's terminal or shell pipe
// seeing it. An fd that cannot be reopened (a FIFO without a reader, a
// tty the sandbox may not open) is used as it is; host files never change
// its flags.
func reopenStdio(fds []int, logger *log.Logger) []int {
	out := make([]int, len(fds))
	for i, fd := range fds {
		nfd, err := host.Reopen(fd)
		if err != nil {
			logger.Printf("stdio %d: %v; sharing the caller's description", i, err)
			nfd = fd
		}
		out[i] = nfd
	}
	return out
}

// checkArgs refuses a malformed command line.
func checkArgs(a Args) error {
	switch {
	case a.Conf == nil:
		return errors.New("no configuration")
	case a.ID == "":
		return errors.New("--id is required")
	case a.SpecFD < 0 || a.ControllerFD < 0 || a.ExitFD < 0:
		return errors.New("--spec-fd, --controller-fd and --exit-fd are required")
	case len(a.StdioFDs) != 3:
		return fmt.Errorf("--stdio-fds needs 3 fds, got %d", len(a.StdioFDs))
	case len(a.IOFDs) == 0:
		return errors.New("--io-fds needs at least the root's gofer connection")
	}
	return nil
}

// readSpec reads the spec from fd (from offset 0) and closes it.
func readSpec(fd int) (*specs.Spec, error) {
	f := os.NewFile(uintptr(fd), "spec")
	defer f.Close()
	data, err := io.ReadAll(io.NewSectionReader(f, 0, 1<<30))
	if err != nil {
		return nil, fmt.Errorf("reading the spec from fd %d: %w", fd, err)
	}
	var spec specs.Spec
	if err := json.Unmarshal(data, &spec); err != nil {
		return nil, fmt.Errorf("parsing the spec from fd %d: %w", fd, err)
	}
	if spec.Process == nil || len(spec.Process.Args) == 0 {
		return nil, errors.New("the spec has no process arguments")
	}
	return &spec, nil
}

// serve runs the controller on the listening socket fd until the sandbox
// should exit, then lets pending answers go out and returns the exit code.
func serve(ctl *controller, fd int) (int, error) {
	f := os.NewFile(uintptr(fd), "control")
	ln, err := net.FileListener(f)
	f.Close()
	if err != nil {
		return 1, fmt.Errorf("control socket fd %d: %w", fd, err)
	}
	s := newServer(ctl)
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	select {
	case code := <-ctl.exit:
		s.Shutdown(drainLimit)
		return code, nil
	case err := <-served:
		ctl.procs.shutdown()
		return 1, fmt.Errorf("serving the control socket: %w", err)
	}
}
