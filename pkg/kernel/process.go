package kernel

import (
	"errors"
	"fmt"
	"strings"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/kernel/auth"
	"bulwark.dev/pkg/vfs"
)

// CreateProcess loads the executable and creates a thread group in the root
// PID namespace; it does not run yet. Errors are user facing ("executable
// file not found in $PATH", ENOENT, EACCES, ENOEXEC). On success the process
// owns args.FDTable and args.FSContext; on error the caller still does.
func (k *Kernel) CreateProcess(args CreateProcessArgs) (*ThreadGroup, error) {
	if args.FDTable == nil || args.FSContext == nil {
		return nil, fmt.Errorf("creating process: no fd table or filesystem context")
	}
	if len(args.Argv) == 0 && args.Filename == "" {
		return nil, fmt.Errorf("creating process: no command")
	}
	creds := args.Creds
	if creds == nil {
		creds = auth.NewRootCredentials()
	}
	ctx, err := k.cfg.Platform.NewContext()
	if err != nil {
		return nil, fmt.Errorf("creating process: platform context: %w", err)
	}

	k.mu.Lock()
	pid, err := k.allocPIDLocked()
	if err != nil {
		k.mu.Unlock()
		ctx.Release()
		return nil, fmt.Errorf("creating process: no pid left: %w", err)
	}
	tg := newThreadGroup(k, pid)
	tg.pgid, tg.sid = pid, pid
	tg.exitSignal = 0
	t := newTask(k, tg, pid, ctx)
	tg.leader = t
	tg.tasks = []*Task{t}
	// Reserve the pid while loading; the process is published below.
	k.tasks[pid] = t
	k.mu.Unlock()

	t.creds.Store(creds)
	tg.noNewPrivs = args.NoNewPrivs
	if err := tg.SetOOMScoreAdj(args.OOMScore); err != nil {
		return nil, fmt.Errorf("creating process: oom_score_adj %d: %w", args.OOMScore, err)
	}
	t.files = &fdTableRef{table: args.FDTable}
	t.files.users.Store(1)
	t.fs = &fsContextRef{ctx: args.FSContext}
	t.fs.users.Store(1)
	for res, lim := range args.Limits {
		if res >= 0 && res < linux.RLIM_NLIMITS {
			tg.limits[res] = lim
		}
	}

	fail := func(err error) (*ThreadGroup, error) {
		k.mu.Lock()
		delete(k.tasks, pid)
		k.mu.Unlock()
		ctx.Release()
		return nil, err
	}
	args.FSContext.SetUmask(args.Umask)
	if args.WorkingDir != "" {
		if err := args.FSContext.Chdir(t, nil, args.WorkingDir); err != nil {
			return fail(fmt.Errorf("changing to working directory %q: %w", args.WorkingDir, err))
		}
	}
	first, path, err := t.resolveExecutable(args)
	if err != nil {
		return fail(err)
	}
	m, res, creds, err := t.loadImage(first, nil, path, false, args.Argv, args.Envv)
	first.DecRef()
	if err != nil {
		return fail(fmt.Errorf("loading %q: %w", path, describeExecError(err)))
	}
	t.installExecCredentials(creds)
	t.mm = m
	t.comm = res.Comm
	t.regs = res.Regs
	t.altStack = linux.SignalStack{Flags: linux.SS_DISABLE}

	k.mu.Lock()
	k.tgs[pid] = tg
	k.mu.Unlock()
	return tg, nil
}

// resolveExecutable opens the program CreateProcess runs: Filename, or
// Argv[0] itself when it has a "/", or Argv[0] found in PATH.
func (t *Task) resolveExecutable(args CreateProcessArgs) (*vfs.File, string, error) {
	path := args.Filename
	if path == "" {
		name := args.Argv[0]
		if !strings.Contains(name, "/") {
			return t.lookPath(name, args.Envv)
		}
		path = name
	}
	f, err := t.openExecutable(nil, path, false)
	if err != nil {
		return nil, "", fmt.Errorf("opening executable %q: %w", path, describeExecError(err))
	}
	return f, path, nil
}

// execError adds a readable explanation to the errnos exec fails with,
// keeping the errno for errors.Is.
type execError struct {
	msg string
	err linux.Errno
}

func (e *execError) Error() string { return e.msg }
func (e *execError) Unwrap() error { return e.err }

// describeExecError explains common exec errnos in words.
func describeExecError(err error) error {
	var e linux.Errno
	if !errors.As(err, &e) {
		return err
	}
	switch e {
	case linux.ENOENT:
		return &execError{"no such file or directory", e}
	case linux.EACCES:
		return &execError{"permission denied (not an executable regular file?)", e}
	case linux.ENOEXEC:
		return &execError{"exec format error (not an x86-64 ELF executable or #! script)", e}
	}
	return err
}
