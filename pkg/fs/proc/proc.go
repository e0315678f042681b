// Package proc is the sandbox's /proc: one directory per process (stat,
// status, cmdline, environ, comm, exe, cwd, root, fd/, fdinfo/, maps,
// mounts, mountinfo, limits, task/, ...), the links self and
// thread-self, the system-wide files (cpuinfo, meminfo, stat, uptime,
// loadavg, version, filesystems, mounts) and a few sysctls under sys/.
// It is built on pkg/vfs's synthetic filesystem helpers and reads the
// kernel's state when files are opened. fd/N, cwd and root are magic
// links (vfs.MagicLink): opening them opens the file they stand for.
package proc

import (
	"fmt"
	"strconv"
	"sync"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/kernel"
	"bulwark.dev/pkg/vfs"
)

// fs holds the per-process directories so a process keeps its inode
// numbers while it lives.
type fs struct {
	k      *kernel.Kernel
	sys    vfs.Inode   // sys/
	system []vfs.Entry // the root's entries besides the pid directories

	mu   sync.Mutex
	dirs map[*kernel.ThreadGroup]vfs.Inode // guarded by mu
}

// New returns a proc filesystem showing k's processes.
func New(k *kernel.Kernel) *vfs.SyntheticFS { return NewWithSysctls(k, nil) }

// NewWithSysctls is New with the values of the sysctls of a container spec
// ("net.ipv4.ip_forward" → "1"), shown read-only in /proc/sys in place of
// or besides the built-in ones.
func NewWithSysctls(k *kernel.Kernel, sysctl map[string]string) *vfs.SyntheticFS {
	p := &fs{k: k, dirs: map[*kernel.ThreadGroup]vfs.Inode{}}
	p.sys = newSysDir(k, sysctl)
	p.system = p.systemEntries()
	root := vfs.NewDynamicDir(0o555, p.rootEntries)
	root.LookupFn = p.lookup
	return vfs.NewSyntheticFS("proc", linux.PROC_MAGIC, root)
}

// systemEntries are the files of the root besides the pid directories.
func (p *fs) systemEntries() []vfs.Entry {
	entries := []vfs.Entry{
		{Name: "self", Inode: vfs.NewFuncSymlink(func(ctx vfs.Context) (string, error) {
			t, ok := ctx.(*kernel.Task)
			if !ok {
				return "", linux.ENOENT
			}
			return strconv.Itoa(int(t.PID())), nil
		})},
		{Name: "thread-self", Inode: vfs.NewFuncSymlink(func(ctx vfs.Context) (string, error) {
			t, ok := ctx.(*kernel.Task)
			if !ok {
				return "", linux.ENOENT
			}
			return fmt.Sprintf("%d/task/%d", t.PID(), t.ThreadID()), nil
		})},
		{Name: "mounts", Inode: vfs.NewStaticSymlink("self/mounts")},
		{Name: "sys", Inode: p.sys},
	}
	for _, f := range systemFiles {
		fn := f.fn
		entries = append(entries, vfs.Entry{Name: f.name, Inode: vfs.NewFuncFile(0o444, func(vfs.Context) ([]byte, error) {
			return fn(p)
		})})
	}
	return entries
}

// rootEntries lists the system files and one directory per process.
func (p *fs) rootEntries(vfs.Context) ([]vfs.Entry, error) {
	entries := append([]vfs.Entry(nil), p.system...)
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
func (p *fs) lookup(_ vfs.Context, name string) (vfs.Inode, error) {
	if pid, err := strconv.ParseInt(name, 10, 32); err == nil && pid > 0 {
		tg := p.k.ThreadGroup(int32(pid))
		if tg == nil {
			return nil, linux.ENOENT
		}
		return p.pidDir(tg), nil
	}
	for _, e := range p.system {
		if e.Name == name {
			return e.Inode, nil
		}
	}
	return nil, linux.ENOENT
}

// pidDir returns the directory of process tg, creating it on first use.
func (p *fs) pidDir(tg *kernel.ThreadGroup) vfs.Inode {
	p.mu.Lock()
	defer p.mu.Unlock()
	if d, ok := p.dirs[tg]; ok {
		return d
	}
	d := newPIDDir(p.k, tg)
	p.dirs[tg] = d
	return d
}
