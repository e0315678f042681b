package proc

import (
	"fmt"
	"sort"
	"strconv"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/vfs"
)

// This file has fd/, fdinfo/ and the magic links cwd and root.

// fdTable returns the process's fd table, or ENOENT once it has exited.
func (p *process) fdTable() (*vfs.FDTable, error) {
	t := p.tg.Snapshot().FDTable
	if t == nil {
		return nil, linux.ENOENT
	}
	return t, nil
}

// withFile calls fn with the file of fd (ENOENT if it is not open).
func (p *process) withFile(fd int32, fn func(f *vfs.File, fl vfs.FDFlags) error) error {
	t, err := p.fdTable()
	if err != nil {
		return err
	}
	f, fl, err := t.Get(fd)
	if err != nil {
		return linux.ENOENT
	}
	defer f.DecRef()
	return fn(f, fl)
}

// fdNumberDir is a directory with one entry per open fd, made by mk.
func (p *process) fdNumberDir(perm uint32, mk func(fd int32) vfs.Inode) vfs.Inode {
	d := vfs.NewDynamicDir(perm, func(vfs.Context) ([]vfs.Entry, error) {
		t, err := p.fdTable()
		if err != nil {
			return nil, nil
		}
		fds := t.FDs()
		sort.Slice(fds, func(i, j int) bool { return fds[i] < fds[j] })
		entries := make([]vfs.Entry, 0, len(fds))
		for _, fd := range fds {
			entries = append(entries, vfs.Entry{Name: strconv.Itoa(int(fd)), Inode: mk(fd)})
		}
		return entries, nil
	})
	d.LookupFn = func(_ vfs.Context, name string) (vfs.Inode, error) {
		fd, err := strconv.ParseInt(name, 10, 32)
		if err != nil || fd < 0 || strconv.Itoa(int(fd)) != name {
			return nil, linux.ENOENT
		}
		if err := p.withFile(int32(fd), func(*vfs.File, vfs.FDFlags) error { return nil }); err != nil {
			return nil, err
		}
		return mk(int32(fd)), nil
	}
	return ownedDynamicDir{d, owner{p.tg}}
}

// fdDir is fd/: a magic link per open fd.
func (p *process) fdDir() vfs.Inode {
	return p.fdNumberDir(0o500, func(fd int32) vfs.Inode {
		target := func(vfs.Context) (name string, err error) {
			err = p.withFile(fd, func(f *vfs.File, _ vfs.FDFlags) error {
				name = f.LinkName()
				return nil
			})
			return name, err
		}
		follow := func(vfs.Context) (l vfs.Location, err error) {
			err = p.withFile(fd, func(f *vfs.File, _ vfs.FDFlags) error {
				l = vfs.FileLocation(f)
				return nil
			})
			return l, err
		}
		l := vfs.NewFuncSymlink(target)
		l.Perm = 0o700
		return magicLink{ownedLink{l, owner{p.tg}}, follow}
	})
}

// fdinfoDir is fdinfo/: the position, flags and mount of each open fd.
func (p *process) fdinfoDir() vfs.Inode {
	return p.fdNumberDir(0o500, func(fd int32) vfs.Inode {
		return ownedFile{vfs.NewFuncFile(0o400, func(ctx vfs.Context) (text []byte, err error) {
			err = p.withFile(fd, func(f *vfs.File, fl vfs.FDFlags) error {
				flags := f.StatusFlags() | linux.O_LARGEFILE // always set on 64-bit Linux
				if fl.CloseOnExec {
					flags |= linux.O_CLOEXEC
				}
				var ino uint64
				if st, err := f.Stat(ctx); err == nil {
					ino = st.Ino
				}
				text = fmt.Appendf(nil, "pos:\t%d\nflags:\t0%o\nmnt_id:\t%d\nino:\t%d\n",
					f.Offset(), flags, p.mountID(f), ino)
				return nil
			})
			return text, err
		}), owner{p.tg}}
	})
}

// exeTarget is the text of exe: the path of the executable. It is an
// ordinary link (its text is followed).
func (p *process) exeTarget(vfs.Context) (string, error) {
	s := p.tg.Snapshot()
	if s.MM == nil || s.MM.Executable() == "" {
		return "", linux.ENOENT
	}
	return s.MM.Executable(), nil
}

// fsLink is a magic link to the cwd or the root of the process.
func (p *process) fsLink(loc func(fs *vfs.FSContext) vfs.Location, text func(fs *vfs.FSContext) string) vfs.Inode {
	fsctx := func() (*vfs.FSContext, error) {
		fs := p.tg.Snapshot().FSContext
		if fs == nil {
			return nil, linux.ENOENT
		}
		return fs, nil
	}
	l := vfs.NewFuncSymlink(func(vfs.Context) (string, error) {
		fs, err := fsctx()
		if err != nil {
			return "", err
		}
		return text(fs), nil
	})
	follow := func(vfs.Context) (vfs.Location, error) {
		fs, err := fsctx()
		if err != nil {
			return vfs.Location{}, err
		}
		return loc(fs), nil
	}
	return magicLink{ownedLink{l, owner{p.tg}}, follow}
}

func (p *process) cwdLink() vfs.Inode {
	return p.fsLink((*vfs.FSContext).Cwd, (*vfs.FSContext).WorkingDirectory)
}

func (p *process) rootLink() vfs.Inode {
	return p.fsLink((*vfs.FSContext).RootDir, func(*vfs.FSContext) string { return "/" })
}
