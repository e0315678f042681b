package kernel

import (
	"crypto/rand"
	"errors"
	"fmt"
	"strings"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/kernel/auth"
	"bulwark.dev/pkg/loader"
	"bulwark.dev/pkg/mm"
	"bulwark.dev/pkg/vfs"
)

// defaultPath is searched when the environment has no PATH (the OCI and
// runc default).
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// execFile adapts an open *vfs.File to loader.File.
type execFile struct{ *vfs.File }

// Close drops the file reference.
func (f execFile) Close() { f.DecRef() }

// Mappable implements loader.MappableFile: a file whose data is in memory
// file pages (tmpfs, the gofer's page cache) lends them to the segments
// copy-on-write instead of having them copied.
func (f execFile) Mappable() mm.Mappable {
	if fb, ok := f.Impl().(mm.FileBacked); ok {
		return backedExecFile{f.File, fb}
	}
	return f.File
}

// backedExecFile is an executable whose data is in memory file pages.
type backedExecFile struct {
	*vfs.File
	mm.FileBacked
}

// openExecutable opens path for execution: a regular file the task may
// execute (linux.EACCES otherwise). dir is the starting directory of a
// relative path (nil: the working directory); noFollow refuses a final
// symlink (AT_SYMLINK_NOFOLLOW, linux.ELOOP).
func (t *Task) openExecutable(dir *vfs.File, path string, noFollow bool) (*vfs.File, error) {
	flags := uint32(linux.O_RDONLY)
	if noFollow {
		flags |= linux.O_NOFOLLOW
	}
	f, err := vfs.OpenAt(t, t.FSContext(), dir, path, flags, 0)
	if err != nil {
		return nil, err
	}
	if err := t.checkExecutable(f); err != nil {
		f.DecRef()
		return nil, err
	}
	return f, nil
}

// checkExecutable checks that f is a regular file the task may execute.
func (t *Task) checkExecutable(f *vfs.File) error {
	st, err := f.Stat(t)
	if err != nil {
		return err
	}
	if st.Mode&linux.S_IFMT != linux.S_IFREG {
		return linux.EACCES
	}
	attr := vfs.Attr{Mode: uint32(st.Mode), UID: st.UID, GID: st.GID}
	return vfs.CheckPermission(t.Credentials(), attr, vfs.MayExec)
}

// loadImage loads path into a fresh address space. first, if non-nil, is
// the already opened executable (execveat with AT_EMPTY_PATH or a PATH
// lookup); later opens (interpreters) go through the filesystem.
//
// It also returns the credentials the program runs with (see
// exec_creds.go), for the caller to install with the image.
func (t *Task) loadImage(first *vfs.File, dir *vfs.File, path string, noFollow bool, argv, envv []string) (*mm.MemoryManager, loader.Result, *auth.Credentials, error) {
	k := t.k
	m, err := mm.New(k.cfg.Platform, k.cfg.MemoryFile)
	if err != nil {
		return nil, loader.Result{}, nil, fmt.Errorf("creating address space: %w", err)
	}
	// m has one user, the task once the image is committed.
	opens := 0
	open := func(p string) (loader.File, error) {
		opens++
		if opens == 1 && first != nil {
			first.IncRef()
			return execFile{first}, nil
		}
		d, nf := (*vfs.File)(nil), false
		if opens == 1 {
			d, nf = dir, noFollow
		}
		f, err := t.openExecutable(d, p, nf)
		if err != nil {
			return nil, err
		}
		return execFile{f}, nil
	}
	var creds *auth.Credentials
	args := loader.Args{Path: path, Argv: argv, Envv: envv, Open: open, MM: m, VDSO: k.vdso,
		StackLimit: t.tg.Limit(linux.RLIMIT_STACK).Cur, SetID: t.setIDHook(&creds)}
	if _, err := rand.Read(args.Random[:]); err != nil {
		m.DecUsers()
		return nil, loader.Result{}, nil, fmt.Errorf("AT_RANDOM: %w", err)
	}
	res, err := loader.Load(args)
	if err != nil {
		m.DecUsers()
		return nil, loader.Result{}, nil, err
	}
	if res.Regs.Cs == 0 {
		res.Regs.Cs, res.Regs.Ss = userCS, userSS
	}
	if res.Regs.Eflags == 0 {
		res.Regs.Eflags = 0x202
	}
	m.SetExecutable(res.ExecPath)
	return m, res, creds, nil
}

// ExecOptions are the arguments of execve/execveat.
type ExecOptions struct {
	Dir       *vfs.File // starting directory of a relative Path (nil: cwd)
	Path      string
	Argv      []string
	Envv      []string
	EmptyPath bool // AT_EMPTY_PATH with Path "": execute Dir itself
	NoFollow  bool // AT_SYMLINK_NOFOLLOW
}

// Execve replaces the task's program. Errors before the point of no return
// leave the old image intact.
func (t *Task) Execve(opts ExecOptions) error {
	var first *vfs.File
	path := opts.Path
	if opts.EmptyPath && path == "" {
		if opts.Dir == nil {
			return linux.EBADF
		}
		if err := t.checkExecutable(opts.Dir); err != nil {
			return err
		}
		first = opts.Dir
		path = opts.Dir.PathName()
	}
	if path == "" {
		return linux.ENOENT
	}
	m, res, creds, err := t.loadImage(first, opts.Dir, path, opts.NoFollow, opts.Argv, opts.Envv)
	if err != nil {
		var e linux.Errno
		if !errors.As(err, &e) {
			t.Debugf("execve %q: %v", path, err)
			return linux.ENOMEM
		}
		return err
	}
	if err := t.killOtherThreads(); err != nil {
		m.DecUsers()
		return err
	}
	t.commitExec(m, res, creds)
	return nil
}

// killOtherThreads makes every other thread of the process exit and, when
// t is not the leader, gives t the leader's id (Linux's de_thread). It
// fails with linux.ERESTARTNOINTR when a group exit or another execve wins;
// the task then exits.
func (t *Task) killOtherThreads() error {
	k := t.k
	tg := t.tg
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(tg.tasks) == 1 && tg.leader == t {
		return nil
	}
	if tg.exiting || tg.execing != nil {
		return linux.ERESTARTNOINTR
	}
	tg.execing = t
	tg.stopped = false
	for _, tt := range tg.tasks {
		if tt != t {
			tt.wake()
		}
	}
	for len(tg.tasks) > 1 {
		if tg.exiting {
			tg.execing = nil
			return linux.ERESTARTNOINTR
		}
		ch := tg.tasksChanged
		k.mu.Unlock()
		select {
		case <-ch:
		case <-t.interrupt:
		}
		k.mu.Lock()
	}
	tg.execing = nil
	if tg.leader != t {
		delete(k.tasks, t.tid)
		t.tid = tg.pid
		k.tasks[t.tid] = t
		tg.leader = t
	}
	return nil
}

// commitExec installs a loaded image: the point of no return of execve.
func (t *Task) commitExec(m *mm.MemoryManager, res loader.Result, creds *auth.Credentials) {
	k := t.k
	k.mu.Lock()
	old := t.mm
	t.mm = m
	t.comm = res.Comm
	t.tg.execed = true
	t.releaseVforkLocked()
	// POSIX timers do not survive execve; interval timers do.
	t.tg.deletePosixTimersLocked()
	// Handled signals revert to the default; ignored ones stay ignored.
	for i := range t.tg.actions {
		if t.tg.actions[i].Handler != linux.SIG_IGN {
			t.tg.actions[i] = linux.SigAction{}
		}
	}
	files := t.files
	if files.shared() {
		t.files = newFDTableRef(files.table.Fork())
	} else {
		files = nil
	}
	k.mu.Unlock()

	if files != nil {
		files.decRef()
	}
	if old != nil {
		old.DecUsers()
	}
	t.files.table.CloseOnExec()
	t.installExecCredentials(creds)
	t.regs = res.Regs
	t.altStack = linux.SignalStack{Flags: linux.SS_DISABLE}
	t.restartErr = 0
	t.restartBlock = nil
	t.clearChildTID = 0
	t.robustList = 0
	t.resetFPState()
}

// lookPath finds name in the PATH of envv like execvp: the first entry
// holding an executable regular file.
func (t *Task) lookPath(name string, envv []string) (*vfs.File, string, error) {
	path := defaultPath
	for _, e := range envv {
		if v, ok := strings.CutPrefix(e, "PATH="); ok {
			path = v
		}
	}
	var firstErr error
	for _, dir := range strings.Split(path, ":") {
		if dir == "" {
			dir = "."
		}
		cand := dir + "/" + name
		f, err := t.openExecutable(nil, cand, false)
		if err == nil {
			return f, cand, nil
		}
		if firstErr == nil && errors.Is(err, linux.EACCES) {
			firstErr = err
		}
	}
	if firstErr != nil {
		return nil, "", fmt.Errorf("%q: permission denied: %w", name, firstErr)
	}
	return nil, "", fmt.Errorf("%q: executable file not found in $PATH: %w", name, linux.ENOENT)
}
