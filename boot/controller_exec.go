package boot

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"sync"
	"time"

	"bulwark.dev/boot/control"
	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/kernel"
	"bulwark.dev/pkg/urpc"
	"bulwark.dev/pkg/vfs"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Exec sessions: every process started by Exec is a session, kept from its
// start until its exit status is collected by ExecWait. A session whose
// status nobody collects is dropped once it has been exited for
// sessionKeep, or when more than maxExited exited sessions are kept (the
// oldest go first), so sessions never pile up. The host process standing
// for a session (runsc exec, or its detached exec-wait) holds the write end
// of a liveness pipe: when it dies, the session's process is killed, so a
// client that disconnects leaves nothing running behind it.
const (
	sessionKeep = 5 * time.Minute
	maxExited   = 128
)

// execProcs is what Exec, Pause and Resume need from the kernel;
// kernelProcs is the real one.
type execProcs interface {
	// startExec creates and starts a process from p with files as its
	// fds 0..n-1; it takes ownership of files on success.
	startExec(p *specs.Process, files []*os.File) (pid int32, wait func() kernel.ExitStatus, err error)
	freeze() error
	thaw()
}

// execSession is one exec'd process.
type execSession struct {
	pid   int32
	start time.Time
	done  chan struct{} // closed when the process exited
	// status and ended are set before done is closed.
	status int
	ended  time.Time
}

// execSessions tracks the exec'd processes by pid.
type execSessions struct {
	mu   sync.Mutex
	byID map[int32]*execSession
}

func (s *execSessions) add(sess *execSession) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byID == nil {
		s.byID = map[int32]*execSession{}
	}
	s.byID[sess.pid] = sess
	s.pruneLocked(time.Now())
}

func (s *execSessions) get(pid int32) *execSession {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byID[pid]
}

// remove ends the session sess (if it is still pid's).
func (s *execSessions) remove(sess *execSession) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byID[sess.pid] == sess {
		delete(s.byID, sess.pid)
	}
}

// exited records sess's status and prunes old sessions.
func (s *execSessions) exited(sess *execSession, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess.status, sess.ended = status, time.Now()
	close(sess.done)
	s.pruneLocked(sess.ended)
}

// len is the number of sessions kept.
func (s *execSessions) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.byID)
}

// pruneLocked drops exited sessions older than sessionKeep and, beyond
// maxExited exited sessions, the oldest ones.
func (s *execSessions) pruneLocked(now time.Time) {
	var exited []*execSession
	for pid, sess := range s.byID {
		select {
		case <-sess.done:
		default:
			continue
		}
		if now.Sub(sess.ended) > sessionKeep {
			delete(s.byID, pid)
			continue
		}
		exited = append(exited, sess)
	}
	if len(exited) <= maxExited {
		return
	}
	sort.Slice(exited, func(i, j int) bool { return exited[i].ended.Before(exited[j].ended) })
	for _, sess := range exited[:len(exited)-maxExited] {
		delete(s.byID, sess.pid)
	}
}

// registerExec adds the exec and pause methods to s.
func (c *controller) registerExec(s *urpc.Server) {
	for name, fn := range map[string]urpc.Handler{
		control.Exec:     c.exec,
		control.ExecWait: c.execWait,
		control.Pause:    c.pause,
		control.Resume:   c.resume,
	} {
		s.Register(name, c.logPanics(name, fn))
	}
}

// execProcs returns the kernel's exec support.
func (c *controller) execProcs() (execProcs, error) {
	ep, ok := c.procs.(execProcs)
	if !ok {
		return nil, errors.New("this sandbox cannot exec or pause")
	}
	return ep, nil
}

// checkRunning refuses calls that need a running init.
func (c *controller) checkRunning() error {
	c.mu.Lock()
	started := c.started && c.initPID != 0
	c.mu.Unlock()
	if !started {
		return errNotStarted
	}
	select {
	case <-c.initDone:
		return errors.New("the container process has exited")
	default:
		return nil
	}
}

func (c *controller) exec(req json.RawMessage, files []*os.File) (any, error) {
	var a control.ExecArgs
	if err := json.Unmarshal(req, &a); err != nil {
		closeAll(files)
		return nil, fmt.Errorf("bad Exec request: %w", err)
	}
	if err := checkExecArgs(a, len(files)); err != nil {
		closeAll(files)
		return nil, err
	}
	stdio, liveFile := files[:a.NumFDs], files[a.NumFDs]
	ep, err := c.execProcs()
	if err == nil {
		err = c.checkRunning()
	}
	var live *os.File
	if err == nil {
		live, err = pollable(liveFile)
	}
	liveFile.Close()
	if err != nil {
		closeAll(stdio)
		return nil, err
	}
	pid, wait, err := ep.startExec(a.Process, stdio)
	if err != nil {
		closeAll(stdio)
		live.Close()
		return nil, err
	}
	sess := &execSession{pid: pid, start: time.Now(), done: make(chan struct{})}
	c.execs.add(sess)
	c.log.Printf("exec: started %q as pid %d", a.Process.Args, pid)
	go c.watchCaller(sess, live)
	go func() {
		code := wait().ShellCode()
		c.log.Printf("exec: pid %d exited with status %d", pid, code)
		c.execs.exited(sess, code)
		live.Close()
	}()
	return control.ExecResult{PID: pid}, nil
}

// checkExecArgs refuses an Exec request the sandbox cannot serve.
func checkExecArgs(a control.ExecArgs, nfiles int) error {
	switch {
	case a.Process == nil || len(a.Process.Args) == 0:
		return errors.New("exec: no command given")
	case a.NumFDs < 0 || nfiles != a.NumFDs+1:
		return fmt.Errorf("exec: expected %d fds and a liveness fd, received %d files", a.NumFDs, nfiles)
	}
	return nil
}

// watchCaller kills sess's process when the caller's end of the liveness
// pipe closes before the process exited.
func (c *controller) watchCaller(sess *execSession, live *os.File) {
	buf := make([]byte, 64)
	for {
		n, err := live.Read(buf)
		if n > 0 && err == nil {
			continue
		}
		break
	}
	select {
	case <-sess.done:
		return
	default:
	}
	c.log.Printf("exec: the caller of pid %d went away: killing it", sess.pid)
	if err := c.procs.signal(sess.pid, int(linux.SIGKILL)); err != nil {
		c.log.Printf("exec: killing pid %d: %v", sess.pid, err)
	}
}

// pollable returns a non-blocking duplicate of the pipe end f that Go's
// poller can wait on (f itself is left as it is).
func pollable(f *os.File) (*os.File, error) {
	fd, err := dupFile(f)
	if err != nil {
		return nil, fmt.Errorf("exec: liveness fd: %w", err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("exec: liveness fd: %w", err)
	}
	return os.NewFile(uintptr(fd), "exec-liveness"), nil
}

// dupFile duplicates f's fd (close-on-exec) without changing its flags,
// as f.Fd() would (it makes the fd blocking).
func dupFile(f *os.File) (int, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return -1, err
	}
	nfd := -1
	var derr error
	if err := rc.Control(func(fd uintptr) {
		nfd, derr = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0)
	}); err != nil {
		return -1, err
	}
	return nfd, derr
}

func (c *controller) execWait(req json.RawMessage, files []*os.File) (any, error) {
	closeAll(files)
	var a control.WaitPIDArgs
	if err := json.Unmarshal(req, &a); err != nil {
		return nil, fmt.Errorf("bad ExecWait request: %w", err)
	}
	sess := c.execs.get(a.PID)
	if sess == nil {
		return nil, fmt.Errorf("no exec session for pid %d", a.PID)
	}
	<-sess.done
	c.execs.remove(sess)
	return control.WaitResult{Status: sess.status}, nil
}

func (c *controller) pause(_ json.RawMessage, files []*os.File) (any, error) {
	closeAll(files)
	ep, err := c.execProcs()
	if err != nil {
		return nil, err
	}
	if err := c.checkRunning(); err != nil {
		return nil, err
	}
	if err := ep.freeze(); err != nil {
		ep.thaw() // all or nothing
		return nil, err
	}
	c.log.Printf("paused")
	return nil, nil
}

func (c *controller) resume(_ json.RawMessage, files []*os.File) (any, error) {
	closeAll(files)
	ep, err := c.execProcs()
	if err != nil {
		return nil, err
	}
	ep.thaw()
	c.log.Printf("resumed")
	return nil, nil
}

var _ execProcs = (*kernelProcs)(nil)

// startExec creates a process from p in the container's mount namespace
// (root "/", cwd p.Cwd) with files as its fds, and starts it.
func (kp *kernelProcs) startExec(p *specs.Process, files []*os.File) (int32, func() kernel.ExitStatus, error) {
	args, unknown, err := InitArgs(&specs.Spec{Process: p})
	if err != nil {
		return 0, nil, fmt.Errorf("exec: %w", err)
	}
	if len(unknown) > 0 {
		kp.log.Printf("exec: ignoring unknown capabilities %v", unknown)
	}
	fdt, err := kp.fileTable(files)
	if err != nil {
		return 0, nil, err
	}
	fsc, err := kp.ns.NewFSContext("/", args.Umask)
	if err != nil {
		fdt.Release()
		return 0, nil, err
	}
	args.FDTable, args.FSContext = fdt, fsc
	tg, err := kp.k.CreateProcess(args)
	if err != nil {
		fdt.Release()
		fsc.Release()
		return 0, nil, err
	}
	if p.Terminal && len(files) > 0 {
		kp.ttys.attach(tg, files[0]) // tty.go
	}
	closeAll(files)
	kp.k.Start(tg)
	return tg.PID(), tg.Wait, nil
}

// fileTable imports files (received from the caller) as fds 0..n-1. Each
// is a duplicate sharing the caller's open file description with its flags
// unchanged: runsc exec reopened its pipes and ttys (host.Reopen) before
// sending them when it could, and a blocking one is handled by host files
// (poll before each transfer), so O_NONBLOCK is never set on a description
// the caller shares. files stay the caller's.
func (kp *kernelProcs) fileTable(files []*os.File) (*vfs.FDTable, error) {
	if makers.host == nil {
		return nil, errors.New("host files are not available: cannot give the process its stdio")
	}
	fdt := vfs.NewFDTable()
	for i, f := range files {
		fd, err := dupFile(f)
		if err != nil {
			fdt.Release()
			return nil, fmt.Errorf("exec: fd %d: %w", i, err)
		}
		vf, err := makers.host(fd)
		if err != nil {
			unix.Close(fd)
			fdt.Release()
			return nil, fmt.Errorf("exec: importing fd %d: %w", i, err)
		}
		err = fdt.NewFDAt(int32(i), vf, vfs.FDFlags{})
		vf.DecRef()
		if err != nil {
			fdt.Release()
			return nil, fmt.Errorf("exec: installing fd %d: %w", i, err)
		}
	}
	return fdt, nil
}

func (kp *kernelProcs) freeze() error { return kp.k.Freeze() }
func (kp *kernelProcs) thaw()         { kp.k.Thaw() }
