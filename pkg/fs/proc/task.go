package proc

import (
	"strconv"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/vfs"
)

// threadFiles are the files of /proc/[pid]/task/[tid] besides comm.
var threadFiles = []struct {
	name string
	fn   func(procInfo) []byte
}{
	{"stat", statText},
	{"status", statusText},
}

// taskDir is task/: one directory per live thread.
func (p *process) taskDir() vfs.Inode {
	d := vfs.NewDynamicDir(0o555, func(vfs.Context) ([]vfs.Entry, error) {
		var entries []vfs.Entry
		for _, tid := range p.tg.ThreadIDs() {
			entries = append(entries, vfs.Entry{Name: strconv.Itoa(int(tid)), Inode: p.threadDir(tid)})
		}
		return entries, nil
	})
	d.LookupFn = func(_ vfs.Context, name string) (vfs.Inode, error) {
		tid, err := strconv.ParseInt(name, 10, 32)
		if err != nil {
			return nil, linux.ENOENT
		}
		if _, ok := p.tg.Thread(int32(tid)); !ok {
			return nil, linux.ENOENT
		}
		return p.threadDir(int32(tid)), nil
	}
	return ownedDynamicDir{d, owner{p.tg}}
}

// threadDir is task/[tid].
func (p *process) threadDir(tid int32) vfs.Inode {
	o := owner{p.tg}
	entries := []vfs.Entry{{Name: "comm", Inode: p.commFile(tid)}}
	for _, f := range threadFiles {
		fn := f.fn
		entries = append(entries, vfs.Entry{Name: f.name, Inode: ownedFile{vfs.NewFuncFile(0o444, func(vfs.Context) ([]byte, error) {
			th, ok := p.tg.Thread(tid)
			if !ok {
				return nil, linux.ESRCH
			}
			return fn(p.info(p.tg.Snapshot(), &th)), nil
		}), o}})
	}
	return ownedStaticDir{vfs.NewStaticDir(0o555, entries), o}
}
