package boot

import (
	"errors"
	"io"
	"log"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"bulwark.dev/boot/control"
	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/kernel"
	"bulwark.dev/pkg/urpc"

	"golang.org/x/sys/unix"
)

// fakeProcs is a procTable whose init exits when told to.
type fakeProcs struct {
	mu        sync.Mutex
	starts    int
	failStart error
	exit      chan kernel.ExitStatus // the init's exit
	signals   []string
	shutdowns int
	others    map[int32]chan kernel.ExitStatus
}

func newFakeProcs() *fakeProcs {
	return &fakeProcs{exit: make(chan kernel.ExitStatus, 1), others: map[int32]chan kernel.ExitStatus{}}
}

func (f *fakeProcs) startInit() (int32, func() kernel.ExitStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failStart != nil {
		if f.failStart.Error() == "panic" {
			panic("unimplemented")
		}
		return 0, nil, f.failStart
	}
	f.starts++
	var once sync.Once
	var st kernel.ExitStatus
	return 1, func() kernel.ExitStatus {
		once.Do(func() { st = <-f.exit })
		return st
	}, nil
}

func (f *fakeProcs) waiter(pid int32) (func() kernel.ExitStatus, bool) {
	f.mu.Lock()
	ch, ok := f.others[pid]
	f.mu.Unlock()
	if !ok {
		return nil, false
	}
	return func() kernel.ExitStatus { return <-ch }, true
}

func (f *fakeProcs) signal(pid int32, sig int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if pid != 1 {
		return linux.ESRCH
	}
	f.signals = append(f.signals, "pid1:"+linux.SignalNames[sig])
	return nil
}

func (f *fakeProcs) signalForeground(pid int32, sig int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if pid != 1 {
		return linux.ESRCH
	}
	f.signals = append(f.signals, "fg1:"+linux.SignalNames[sig])
	return nil
}

func (f *fakeProcs) signalAll(sig int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.signals = append(f.signals, "all:"+linux.SignalNames[sig])
}

func (f *fakeProcs) processes() []kernel.ProcessInfo {
	return []kernel.ProcessInfo{{PID: 1, Cmd: "sh", Args: []string{"sh"}, State: "S"}}
}

func (f *fakeProcs) shutdown() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.shutdowns++
}

// startController serves a controller over a real socket, as Run does.
func startController(t *testing.T, procs procTable) (*controller, *urpc.Client, string, chan int) {
	t.Helper()
	dir := t.TempDir()
	exitPath := filepath.Join(dir, "exit")
	exitFile, err := os.Create(exitPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { exitFile.Close() })
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: filepath.Join(dir, "ctl.sock"), Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	lnFile, err := ln.File()
	ln.Close()
	if err != nil {
		t.Fatal(err)
	}
	// serve takes ownership of the fd, as Run's inherited one.
	fd, err := unix.Dup(int(lnFile.Fd()))
	lnFile.Close()
	if err != nil {
		t.Fatal(err)
	}
	ctl := newController(procs, exitFile, log.New(io.Discard, "", 0))
	codes := make(chan int, 1)
	go func() {
		code, err := serve(ctl, fd)
		if err != nil {
			t.Errorf("serve: %v", err)
		}
		codes <- code
	}()
	c, err := urpc.Dial(filepath.Join(dir, "ctl.sock"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return ctl, c, exitPath, codes
}

func TestControllerLifecycle(t *testing.T) {
	procs := newFakeProcs()
	_, c, exitPath, codes := startController(t, procs)

	var ready control.ReadyResult
	if err := c.Call(control.Ready, nil, &ready); err != nil || ready.Pid != os.Getpid() {
		t.Fatalf("Ready: %+v, %v", ready, err)
	}
	// Before the start, the init can be neither waited for nor signalled.
	if err := c.Call(control.Wait, nil, nil); err == nil || !strings.Contains(err.Error(), "not been started") {
		t.Errorf("Wait before start: %v", err)
	}
	if err := c.Call(control.Signal, control.SignalArgs{Signo: 15}, nil); err == nil {
		t.Error("Signal before start succeeded")
	}

	var sr control.StartResult
	if err := c.Call(control.StartRoot, nil, &sr); err != nil || sr.PID != 1 {
		t.Fatalf("StartRoot: %+v, %v", sr, err)
	}
	if err := c.Call(control.StartRoot, nil, nil); err == nil {
		t.Error("second StartRoot succeeded")
	}

	if err := c.Call(control.Signal, control.SignalArgs{Signo: 15}, nil); err != nil {
		t.Errorf("Signal init: %v", err)
	}
	if err := c.Call(control.Signal, control.SignalArgs{Signo: 2, PID: 1, Foreground: true}, nil); err != nil {
		t.Errorf("Signal foreground: %v", err)
	}
	if err := c.Call(control.Signal, control.SignalArgs{Signo: 9, All: true}, nil); err != nil {
		t.Errorf("Signal all: %v", err)
	}
	err := c.Call(control.Signal, control.SignalArgs{Signo: 9, PID: 42}, nil)
	if err == nil || !strings.Contains(err.Error(), "pid 42") {
		t.Errorf("Signal to a missing pid: %v", err)
	}
	if err := c.Call(control.Signal, control.SignalArgs{Signo: 99}, nil); err == nil {
		t.Error("signal 99 accepted")
	}
	procs.mu.Lock()
	if got := strings.Join(procs.signals, " "); got != "pid1:SIGTERM fg1:SIGINT all:SIGKILL" {
		t.Errorf("signals delivered: %s", got)
	}
	procs.mu.Unlock()

	var ps []kernel.ProcessInfo
	if err := c.Call(control.Processes, nil, &ps); err != nil || len(ps) != 1 || ps[0].Cmd != "sh" {
		t.Errorf("Processes: %+v, %v", ps, err)
	}

	// Two waiters block until the init exits.
	waits := make(chan error, 2)
	for range 2 {
		go func() {
			var r control.WaitResult
			err := c.Call(control.WaitPID, control.WaitPIDArgs{PID: 1}, &r)
			if err == nil && r.Status != 130 {
				err = errors.New("wrong status")
			}
			waits <- err
		}()
	}
	select {
	case err := <-waits:
		t.Fatalf("Wait returned before the init exited: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	procs.exit <- kernel.ExitStatus{Signo: 2} // SIGINT: status 130
	for range 2 {
		if err := <-waits; err != nil {
			t.Errorf("Wait: %v", err)
		}
	}
	if code := <-codes; code != 130 {
		t.Errorf("sandbox exit code %d, want 130", code)
	}
	if st, ok := control.ReadExitFile(exitPath); !ok || st != 130 {
		t.Errorf("exit file: %d, %v", st, ok)
	}
	procs.mu.Lock()
	if procs.shutdowns != 1 {
		t.Errorf("kernel shut down %d times after the init exited, want 1", procs.shutdowns)
	}
	procs.mu.Unlock()
}

func TestControllerStartFailureAndDestroy(t *testing.T) {
	procs := newFakeProcs()
	procs.failStart = errors.New(`executable file not found in $PATH: "nope"`)
	_, c, exitPath, codes := startController(t, procs)

	err := c.Call(control.StartRoot, nil, nil)
	if err == nil || err.Error() != `executable file not found in $PATH: "nope"` {
		t.Fatalf("StartRoot error: %v", err)
	}
	// A bug (panic) in the kernel is an error too, and the sandbox lives on.
	procs.mu.Lock()
	procs.failStart = errors.New("panic")
	procs.mu.Unlock()
	err = c.Call(control.StartRoot, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "internal error in the sandbox: unimplemented") {
		t.Fatalf("StartRoot with a panic: %v", err)
	}
	// A failed start leaves the container startable.
	procs.mu.Lock()
	procs.failStart = nil
	procs.mu.Unlock()
	if err := c.Call(control.StartRoot, nil, nil); err != nil {
		t.Fatalf("StartRoot after a failure: %v", err)
	}
	five := make(chan kernel.ExitStatus, 1)
	five <- kernel.ExitStatus{Code: 3}
	procs.mu.Lock()
	procs.others[5] = five
	procs.mu.Unlock()
	var r control.WaitResult
	if err := c.Call(control.WaitPID, control.WaitPIDArgs{PID: 5}, &r); err != nil || r.Status != 3 {
		t.Errorf("WaitPID 5: %+v, %v", r, err)
	}
	if err := c.Call(control.WaitPID, control.WaitPIDArgs{PID: 6}, &r); err == nil {
		t.Error("WaitPID of a missing pid succeeded")
	}

	if err := c.Call(control.Destroy, nil, nil); err != nil {
		t.Errorf("Destroy: %v", err)
	}
	if code := <-codes; code != 137 {
		t.Errorf("exit code after Destroy %d, want 137", code)
	}
	if _, ok := control.ReadExitFile(exitPath); ok {
		t.Error("Destroy before the init exited recorded a status")
	}
}
