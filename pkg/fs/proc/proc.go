// Package proc is the sandbox's /proc: the root with "self", one directory
// per process (exe, cmdline, comm, status, stat, maps, mounts, cwd, root,
// fd/) and a few system-wide files (uptime, meminfo, loadavg, version,
// cpuinfo, mounts). It is built on pkg/vfs's synthetic filesystem helpers
// and reads the kernel's state when files are opened.
package proc

import (
	"fmt"
	"sort"
	"strconv"
	"sync"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/kernel"
	"bulwark.dev/pkg/vfs"
)

// fs holds the per-process directories so a process keeps its inode
// numbers while it lives.
type fs struct {
	k *kernel.Kernel

	mu   sync.Mutex
	dirs map[*kernel.ThreadGroup]*vfs.StaticDir
}

// New returns a proc filesystem showing k's processes.
func New(k *kernel.Kernel) *vfs.SyntheticFS {
	p := &fs{k: k, dirs: map[*kernel.ThreadGroup]*vfs.StaticDir{}}
	root := vfs.NewDynamicDir(0o555, p.rootEntries)
	root.LookupFn = p.lookup
	return vfs.NewSyntheticFS("proc", linux.PROC_MAGIC, root)
}

// callerPID returns the pid of the task ctx stands for.
func callerPID(ctx vfs.Context) (int32, error) {
	t, ok := ctx.(*kernel.Task)
	if !ok {
		return 0, linux.ENOENT
	}
	return t.PID(), nil
}

// systemEntries are the files of the root besides the pid directories.
func (p *fs) systemEntries() []vfs.Entry {
	return []vfs.Entry{
		{Name: "self", Inode: vfs.NewFuncSymlink(func(ctx vfs.Context) (string, error) {
			pid, err := callerPID(ctx)
			return strconv.Itoa(int(pid)), err
		})},
		{Name: "thread-self", Inode: vfs.NewFuncSymlink(func(ctx vfs.Context) (string, error) {
			t, ok := ctx.(*kernel.Task)
			if !ok {
				return "", linux.ENOENT
			}
			return fmt.Sprintf("%d/task/%d", t.PID(), t.ThreadID()), nil
		})},
		{Name: "mounts", Inode: vfs.NewStaticSymlink("self/mounts")},
		{Name: "uptime", Inode: vfs.NewFuncFile(0o444, p.uptime)},
		{Name: "meminfo", Inode: vfs.NewFuncFile(0o444, p.meminfo)},
		{Name: "loadavg", Inode: vfs.NewFuncFile(0o444, p.loadavg)},
		{Name: "version", Inode: vfs.NewFuncFile(0o444, p.version)},
		{Name: "cpuinfo", Inode: vfs.NewFuncFile(0o444, p.cpuinfo)},
		{Name: "filesystems", Inode: vfs.NewStaticFile(0o444, []byte("nodev\tproc\nnodev\ttmpfs\n"))},
	}
}

// rootEntries lists the system files and one directory per process.
func (p *fs) rootEntries(vfs.Context) ([]vfs.Entry, error) {
	entries := p.systemEntries()
	tgs := p.k.ThreadGroups()
	live := make(map[*kernel.ThreadGroup]bool, len(tgs))
	for _, tg := range tgs {
		live[tg] = true
		entries = append(entries, vfs.Entry{Name: strconv.Itoa(int(tg.PID())), Inode: p.pidDir(tg)})
	}
	p.mu.Lock()
	for tg := range p.dirs {
		if !live[tg] {
			delete(p.dirs, tg)
		}
	}
	p.mu.Unlock()
	return entries, nil
}

// lookup finds one root entry without listing every process.
func (p *fs) lookup(ctx vfs.Context, name string) (vfs.Inode, error) {
	if pid, err := strconv.ParseInt(name, 10, 32); err == nil && pid > 0 {
		tg := p.k.ThreadGroup(int32(pid))
		if tg == nil {
			return nil, linux.ENOENT
		}
		return p.pidDir(tg), nil
	}
	for _, e := range p.systemEntries() {
		if e.Name == name {
			return e.Inode, nil
		}
	}
	return nil, linux.ENOENT
}

// pidDir returns the directory of process tg, creating it on first use.
func (p *fs) pidDir(tg *kernel.ThreadGroup) *vfs.StaticDir {
	p.mu.Lock()
	defer p.mu.Unlock()
	if d, ok := p.dirs[tg]; ok {
		return d
	}
	d := newPIDDir(p.k, tg)
	p.dirs[tg] = d
	return d
}

// sortedFDs returns the fd numbers of table as sorted entries names.
func sortedFDs(table *vfs.FDTable) []int32 {
	fds := table.FDs()
	sort.Slice(fds, func(i, j int) bool { return fds[i] < fds[j] })
	return fds
}
