package boot

import (
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"os"
	"runtime/debug"
	"sync"

	"bulwark.dev/boot/control"
	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/kernel"
	"bulwark.dev/pkg/urpc"
)

// procTable is what the controller needs from the kernel. kernelProcs is
// the real one; tests use a fake.
type procTable interface {
	// startInit creates and starts the container's init and returns its
	// pid and a function that waits for its exit.
	startInit() (pid int32, wait func() kernel.ExitStatus, err error)
	// waiter returns a wait function for process pid, if it exists.
	waiter(pid int32) (func() kernel.ExitStatus, bool)
	signal(pid int32, sig int) error
	// signalForeground sends sig to the foreground group of the terminal
	// controlling pid's session, or to pid when there is none.
	signalForeground(pid int32, sig int) error
	signalAll(sig int)
	processes() []kernel.ProcessInfo
	shutdown()
}

// controller serves the control socket: it starts the init, signals and
// waits for processes, and decides when the sandbox process exits.
type controller struct {
	procs    procTable
	exitFile *os.File
	log      *log.Logger
	exit     chan int // the sandbox process's exit code; the first send wins
	// initExited, if set, runs when the init has exited, before its
	// status is published (after which runsc may kill the sandbox).
	initExited func()

	mu       sync.Mutex
	started  bool          // StartRoot succeeded (or is in progress)
	initPID  int32         // valid once started
	initDone chan struct{} // closed once the init exited and its status is recorded
	status   int           // the init's shell status, valid after initDone

	execs execSessions // exec'd processes (controller_exec.go)
}

func newController(procs procTable, exitFile *os.File, logger *log.Logger) *controller {
	return &controller{
		procs:    procs,
		exitFile: exitFile,
		log:      logger,
		exit:     make(chan int, 1),
		initDone: make(chan struct{}),
	}
}

// newServer returns a control-socket server for c's methods.
func newServer(c *controller) *urpc.Server {
	s := urpc.NewServer()
	for name, fn := range map[string]urpc.Handler{
		control.Ready:     c.ready,
		control.StartRoot: c.startRoot,
		control.Signal:    c.signal,
		control.Wait:      c.wait,
		control.WaitPID:   c.waitPID,
		control.Processes: c.processes,
		control.Destroy:   c.destroy,
	} {
		s.Register(name, c.logPanics(name, fn))
	}
	c.registerExec(s)
	return s
}

// logPanics turns a panic in fn (a bug in the sandbox) into an error and
// writes its stack to the debug log.
func (c *controller) logPanics(name string, fn urpc.Handler) urpc.Handler {
	return func(req json.RawMessage, files []*os.File) (result any, err error) {
		defer func() {
			if r := recover(); r != nil {
				c.log.Printf("%s: panic: %v\n%s", name, r, debug.Stack())
				result, err = nil, fmt.Errorf("%s: internal error in the sandbox: %v", name, r)
			}
		}()
		return fn(req, files)
	}
}

// errNotStarted answers calls about the init before StartRoot.
var errNotStarted = errors.New("the container process has not been started")

func (c *controller) ready(json.RawMessage, []*os.File) (any, error) {
	return control.ReadyResult{Pid: os.Getpid()}, nil
}

func (c *controller) startRoot(_ json.RawMessage, files []*os.File) (any, error) {
	closeAll(files)
	c.mu.Lock()
	if c.started {
		c.mu.Unlock()
		return nil, errors.New("the container process was already started")
	}
	c.started = true
	c.mu.Unlock()

	ok := false
	defer func() {
		// A failed (or panicking) start leaves the container startable.
		if !ok {
			c.mu.Lock()
			c.started = false
			c.mu.Unlock()
		}
	}()
	pid, wait, err := c.procs.startInit()
	if err != nil {
		return nil, err
	}
	ok = true
	c.mu.Lock()
	c.initPID = pid
	c.mu.Unlock()
	c.log.Printf("started the container process as pid %d", pid)
	go c.watchInit(wait)
	return control.StartResult{PID: pid}, nil
}

// watchInit waits for the init to exit, records its status in the exit
// file, kills what is left (as Linux does when a PID namespace's init
// dies), releases waiters and ends the sandbox process.
func (c *controller) watchInit(wait func() kernel.ExitStatus) {
	st := wait()
	code := st.ShellCode()
	c.log.Printf("the container process exited: %+v (status %d)", st, code)
	if c.initExited != nil {
		c.initExited()
	}
	if err := control.WriteExitFile(c.exitFile, code); err != nil {
		c.log.Printf("recording the exit status: %v", err)
	}
	c.procs.shutdown()
	c.mu.Lock()
	c.status = code
	c.mu.Unlock()
	close(c.initDone)
	c.finish(code)
}

// finish asks the sandbox process to exit with code (the first call wins).
func (c *controller) finish(code int) {
	select {
	case c.exit <- code:
	default:
	}
}

func (c *controller) signal(req json.RawMessage, files []*os.File) (any, error) {
	closeAll(files)
	var a control.SignalArgs
	if err := json.Unmarshal(req, &a); err != nil {
		return nil, fmt.Errorf("bad Signal request: %w", err)
	}
	if a.Signo < 0 || a.Signo > linux.SIGRTMAX {
		return nil, fmt.Errorf("invalid signal %d", a.Signo)
	}
	if a.All {
		c.procs.signalAll(a.Signo)
		return nil, nil
	}
	pid := a.PID
	if pid == 0 {
		c.mu.Lock()
		started, init := c.started, c.initPID
		c.mu.Unlock()
		if !started || init == 0 {
			return nil, errNotStarted
		}
		pid = init
	}
	send := c.procs.signal
	if a.Foreground {
		send = c.procs.signalForeground
	}
	if err := send(pid, a.Signo); err != nil {
		return nil, fmt.Errorf("signal %d to pid %d: %w", a.Signo, pid, err)
	}
	return nil, nil
}

func (c *controller) wait(_ json.RawMessage, files []*os.File) (any, error) {
	closeAll(files)
	c.mu.Lock()
	started := c.started
	c.mu.Unlock()
	if !started {
		return nil, errNotStarted
	}
	<-c.initDone
	c.mu.Lock()
	defer c.mu.Unlock()
	return control.WaitResult{Status: c.status}, nil
}

func (c *controller) waitPID(req json.RawMessage, files []*os.File) (any, error) {
	closeAll(files)
	var a control.WaitPIDArgs
	if err := json.Unmarshal(req, &a); err != nil {
		return nil, fmt.Errorf("bad WaitPID request: %w", err)
	}
	c.mu.Lock()
	isInit := c.started && a.PID == c.initPID
	c.mu.Unlock()
	if isInit {
		return c.wait(nil, nil)
	}
	wait, ok := c.procs.waiter(a.PID)
	if !ok {
		return nil, fmt.Errorf("no process %d", a.PID)
	}
	return control.WaitResult{Status: wait().ShellCode()}, nil
}

func (c *controller) processes(_ json.RawMessage, files []*os.File) (any, error) {
	closeAll(files)
	ps := c.procs.processes()
	if ps == nil {
		ps = []kernel.ProcessInfo{}
	}
	return ps, nil
}

func (c *controller) destroy(_ json.RawMessage, files []*os.File) (any, error) {
	closeAll(files)
	c.procs.shutdown()
	code := 128 + int(linux.SIGKILL)
	select {
	case <-c.initDone:
		c.mu.Lock()
		code = c.status
		c.mu.Unlock()
	default:
	}
	c.finish(code)
	return nil, nil
}

func closeAll(files []*os.File) {
	for _, f := range files {
		f.Close()
	}
}
