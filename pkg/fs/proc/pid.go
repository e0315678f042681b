package proc

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/kernel"
	"bulwark.dev/pkg/vfs"
)

// stateNames are the words /proc/[pid]/status shows after the state letter.
var stateNames = map[string]string{
	"R": "running", "S": "sleeping", "T": "stopped", "Z": "zombie",
}

// newPIDDir builds /proc/[pid].
func newPIDDir(k *kernel.Kernel, tg *kernel.ThreadGroup) *vfs.StaticDir {
	file := func(fn func(s kernel.ProcessSnapshot) ([]byte, error)) *vfs.FuncFile {
		return vfs.NewFuncFile(0o444, func(vfs.Context) ([]byte, error) { return fn(tg.Snapshot()) })
	}
	link := func(fn func(s kernel.ProcessSnapshot) (string, error)) *vfs.FuncSymlink {
		return vfs.NewFuncSymlink(func(vfs.Context) (string, error) { return fn(tg.Snapshot()) })
	}
	fdDir := vfs.NewDynamicDir(0o500, func(vfs.Context) ([]vfs.Entry, error) {
		s := tg.Snapshot()
		if s.FDTable == nil {
			return nil, nil
		}
		var entries []vfs.Entry
		for _, fd := range sortedFDs(s.FDTable) {
			entries = append(entries, vfs.Entry{Name: strconv.Itoa(int(fd)), Inode: fdLink(s.FDTable, fd)})
		}
		return entries, nil
	})
	fdDir.LookupFn = func(_ vfs.Context, name string) (vfs.Inode, error) {
		fd, err := strconv.ParseInt(name, 10, 32)
		s := tg.Snapshot()
		if err != nil || s.FDTable == nil {
			return nil, linux.ENOENT
		}
		f, _, err := s.FDTable.Get(int32(fd))
		if err != nil {
			return nil, linux.ENOENT
		}
		f.DecRef()
		return fdLink(s.FDTable, int32(fd)), nil
	}

	return vfs.NewStaticDir(0o555, []vfs.Entry{
		{Name: "exe", Inode: link(func(s kernel.ProcessSnapshot) (string, error) {
			if s.MM == nil {
				return "", linux.ENOENT
			}
			return s.MM.Executable(), nil
		})},
		{Name: "cwd", Inode: link(func(s kernel.ProcessSnapshot) (string, error) {
			if s.FSContext == nil {
				return "", linux.ENOENT
			}
			return s.FSContext.WorkingDirectory(), nil
		})},
		{Name: "root", Inode: vfs.NewStaticSymlink("/")},
		{Name: "cmdline", Inode: file(func(s kernel.ProcessSnapshot) ([]byte, error) {
			if s.MM == nil {
				return nil, nil
			}
			return s.MM.Cmdline(), nil
		})},
		{Name: "comm", Inode: file(func(s kernel.ProcessSnapshot) ([]byte, error) {
			return []byte(s.Comm + "\n"), nil
		})},
		{Name: "status", Inode: file(statusText)},
		{Name: "stat", Inode: file(func(s kernel.ProcessSnapshot) ([]byte, error) {
			return statText(k, s), nil
		})},
		{Name: "maps", Inode: file(func(s kernel.ProcessSnapshot) ([]byte, error) {
			if s.MM == nil {
				return nil, nil
			}
			return []byte(s.MM.Maps()), nil
		})},
		{Name: "mounts", Inode: file(func(s kernel.ProcessSnapshot) ([]byte, error) {
			if s.FSContext == nil {
				return nil, nil
			}
			return []byte(s.FSContext.Namespace().MountsText()), nil
		})},
		{Name: "fd", Inode: fdDir},
	})
}

// fdLink is /proc/[pid]/fd/N: a symlink to the file's path.
func fdLink(table *vfs.FDTable, fd int32) *vfs.FuncSymlink {
	return vfs.NewFuncSymlink(func(vfs.Context) (string, error) {
		f, _, err := table.Get(fd)
		if err != nil {
			return "", linux.ENOENT
		}
		defer f.DecRef()
		return f.PathName(), nil
	})
}

// capLine formats a capability set like Linux (16 hex digits).
func capLine(b *bytes.Buffer, name string, v uint64) {
	fmt.Fprintf(b, "%s:\t%016x\n", name, v)
}

// statusText is /proc/[pid]/status.
func statusText(s kernel.ProcessSnapshot) ([]byte, error) {
	var b bytes.Buffer
	c := s.Creds
	fmt.Fprintf(&b, "Name:\t%s\n", s.Comm)
	if s.FSContext != nil {
		fmt.Fprintf(&b, "Umask:\t%04o\n", s.FSContext.Umask())
	}
	fmt.Fprintf(&b, "State:\t%s (%s)\n", s.State, stateNames[s.State])
	fmt.Fprintf(&b, "Tgid:\t%d\nNgid:\t0\nPid:\t%d\nPPid:\t%d\nTracerPid:\t0\n", s.PID, s.PID, s.PPID)
	fmt.Fprintf(&b, "Uid:\t%d\t%d\t%d\t%d\n", c.RealUID, c.EffectiveUID, c.SavedUID, c.FSUID)
	fmt.Fprintf(&b, "Gid:\t%d\t%d\t%d\t%d\n", c.RealGID, c.EffectiveGID, c.SavedGID, c.FSGID)
	groups := make([]string, len(c.ExtraGIDs))
	for i, g := range c.ExtraGIDs {
		groups[i] = strconv.Itoa(int(g))
	}
	fmt.Fprintf(&b, "FDSize:\t64\nGroups:\t%s\n", strings.Join(groups, " "))
	fmt.Fprintf(&b, "NSpgid:\t%d\nNSsid:\t%d\n", s.PGID, s.SID)
	fmt.Fprintf(&b, "Threads:\t%d\n", s.Threads)
	fmt.Fprintf(&b, "SigPnd:\t%016x\nShdPnd:\t%016x\nSigBlk:\t%016x\nSigIgn:\t%016x\nSigCgt:\t%016x\n",
		uint64(s.SigPending), uint64(s.SigShared), uint64(s.SigBlocked), uint64(s.SigIgnored), uint64(s.SigCaught))
	capLine(&b, "CapInh", c.InheritableCaps)
	capLine(&b, "CapPrm", c.PermittedCaps)
	capLine(&b, "CapEff", c.EffectiveCaps)
	capLine(&b, "CapBnd", c.BoundingCaps)
	capLine(&b, "CapAmb", c.AmbientCaps)
	return b.Bytes(), nil
}

// statText is /proc/[pid]/stat (52 fields; memory and fault counters 0).
func statText(k *kernel.Kernel, s kernel.ProcessSnapshot) []byte {
	start := kernel.Ticks(s.StartTime.Sub(k.BootTime()))
	fields := []any{
		s.PID, "(" + s.Comm + ")", s.State, s.PPID, s.PGID, s.SID,
		0, -1, 0, // tty_nr, tpgid, flags
		0, 0, 0, 0, // minflt, cminflt, majflt, cmajflt
		kernel.Ticks(s.UserTime), kernel.Ticks(s.SysTime),
		kernel.Ticks(s.ChildUser), kernel.Ticks(s.ChildSys),
		20, 0, s.Threads, 0, start, // priority, nice, num_threads, itrealvalue, starttime
		0, 0, uint64(linux.RLimInfinity), // vsize, rss, rsslim
	}
	var b bytes.Buffer
	for i, f := range fields {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprint(&b, f)
	}
	// startcode .. exit_code: 52 fields in all.
	for i := len(fields); i < 52; i++ {
		b.WriteString(" 0")
	}
	b.WriteByte('\n')
	return b.Bytes()
}
