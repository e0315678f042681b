package boot

import (
	"fmt"
	"log"

	"bulwark.dev/pkg/kernel"
	"bulwark.dev/pkg/vfs"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// kernelProcs is the controller's view of the real kernel.
type kernelProcs struct {
	k        *kernel.Kernel
	spec     *specs.Spec
	ns       *vfs.MountNamespace
	stdioFDs []int         // the container's stdin, stdout, stderr on the host
	tty      *hostTerminal // the container's terminal, or nil
	ttys     *terminals    // keyboard signals of terminals (tty.go)
	log      *log.Logger
}

var _ procTable = (*kernelProcs)(nil)

// startInit creates the init from the spec, with the container's stdio as
// fds 0, 1 and 2, and starts it.
func (kp *kernelProcs) startInit() (int32, func() kernel.ExitStatus, error) {
	args, unknown, err := InitArgs(kp.spec)
	if err != nil {
		return 0, nil, err
	}
	if len(unknown) > 0 {
		kp.log.Printf("ignoring unknown capabilities %v", unknown)
	}
	fdt, err := kp.stdioTable()
	if err != nil {
		return 0, nil, err
	}
	// The kernel changes into args.WorkingDir with the init's credentials.
	fsc, err := kp.ns.NewFSContext("/", args.Umask)
	if err != nil {
		fdt.Release()
		return 0, nil, err
	}
	args.FDTable, args.FSContext = fdt, fsc
	tg, err := kp.k.CreateProcess(args)
	if err != nil {
		// The process owns the table and context only once created.
		fdt.Release()
		fsc.Release()
		return 0, nil, err
	}
	if kp.tty != nil {
		// The init leads its session: the terminal is its controlling one.
		if err := tg.AttachTerminal(kp.tty.id); err != nil {
			kp.log.Printf("attaching the terminal to the init: %v", err)
		}
	}
	kp.k.Start(tg)
	return tg.PID(), tg.Wait, nil
}

// stdioTable imports the container's stdio host fds as files 0, 1, 2.
// Each gets a duplicate (host files own their fd), so a failed start can
// be retried.
func (kp *kernelProcs) stdioTable() (*vfs.FDTable, error) {
	if makers.host == nil {
		return nil, fmt.Errorf("host files are not available yet: cannot give the container its stdio")
	}
	fdt := vfs.NewFDTable()
	for i, hostFD := range kp.stdioFDs {
		dup, err := unix.FcntlInt(uintptr(hostFD), unix.F_DUPFD_CLOEXEC, 0)
		if err != nil {
			fdt.Release()
			return nil, fmt.Errorf("duplicating stdio fd %d (host fd %d): %w", i, hostFD, err)
		}
		f, err := makers.host(dup)
		if err != nil {
			unix.Close(dup)
			fdt.Release()
			return nil, fmt.Errorf("importing stdio fd %d (host fd %d): %w", i, hostFD, err)
		}
		err = fdt.NewFDAt(int32(i), f, vfs.FDFlags{})
		f.DecRef() // the table holds its own reference
		if err != nil {
			fdt.Release()
			return nil, fmt.Errorf("installing stdio fd %d: %w", i, err)
		}
	}
	return fdt, nil
}

func (kp *kernelProcs) waiter(pid int32) (func() kernel.ExitStatus, bool) {
	tg := kp.k.ThreadGroup(pid)
	if tg == nil {
		return nil, false
	}
	return tg.Wait, true
}

func (kp *kernelProcs) signal(pid int32, sig int) error { return kp.k.Signal(pid, sig) }
func (kp *kernelProcs) signalAll(sig int)               { kp.k.SignalAll(sig) }
func (kp *kernelProcs) signalForeground(pid int32, sig int) error {
	return kp.k.SignalProcessForeground(pid, sig)
}
func (kp *kernelProcs) processes() []kernel.ProcessInfo { return kp.k.Processes() }
func (kp *kernelProcs) shutdown()                       { kp.k.Shutdown() }
