package gofer

import (
	"slices"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/fsproto"
	"bulwark.dev/pkg/vfs"
)

// What an exclusive filesystem (Options.Exclusive) caches besides the
// dentries the VFS keeps: every inode's attributes, the names each
// directory knows to be missing and each directory's listing. The sandbox
// is then the only one changing the files, so the caches only change with
// its own operations:
//
//   - a write through a host fd, a truncate or any setattr drops the
//     file's attributes (setattr refetches them at once);
//   - creating, linking, unlinking or renaming a name drops the
//     directory's attributes and listing and updates its missing names;
//   - unlink, rmdir and rename also change the link count or ctime of an
//     inode the directory cannot name (it may have other names): they drop
//     every inode's attributes at once by bumping FS.gen.
//
// A file seen with several hard links may have several inodes here (one
// per name looked up), and a change through one would not reach the
// others' caches: such a file's attributes are never cached.
//
// A fetch that raced with an invalidation is not trusted (see attrStamp).
// A shared filesystem caches none of this: Stat asks the host every time.

// maxNegative bounds the missing names one directory remembers; past it
// the set starts over.
const maxNegative = 1024

// attrStamp is the state of an inode's cache before its attributes are
// fetched: the fetched ones are fresh only if no invalidation happened
// since.
type attrStamp struct{ gen, inval uint64 }

// stamp returns i's cache state now.
func (i *inode) stamp() attrStamp {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.stampLocked()
}

func (i *inode) stampLocked() attrStamp {
	return attrStamp{gen: i.fs.gen.Load(), inval: i.inval}
}

// storeAttrLocked caches attributes fetched after st. i.mu must be held.
func (i *inode) storeAttrLocked(a vfs.Attr, st attrStamp) {
	i.attr = a
	i.linked = i.linked || (a.Nlink > 1 && a.Type() != linux.S_IFDIR)
	if st.inval == i.inval {
		i.attrGen = st.gen
	}
}

// freshLocked reports whether the cached attributes can be served without
// asking the host. i.mu must be held.
func (i *inode) freshLocked() bool {
	return i.fs.exclusive && !i.linked && i.attrGen == i.fs.gen.Load()
}

// invalidate drops i's cached attributes: the next Stat asks the host.
func (i *inode) invalidate() {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.invalidateLocked()
}

func (i *inode) invalidateLocked() {
	i.attrGen = 0
	i.inval++
}

// invalidateAll drops every inode's cached attributes and closes the host
// fds kept for files nobody has open (one may belong to a file just
// unlinked, whose space the host would otherwise keep).
func (fs *FS) invalidateAll() {
	fs.gen.Add(1)
	fs.fds.flushIdle()
}

// dirChanged records that name now exists in directory i (present) or
// not: the directory's attributes and listing are dropped.
func (i *inode) dirChanged(name string, present bool) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.invalidateLocked()
	i.dirents = nil
	if present || !i.fs.exclusive {
		delete(i.missing, name)
		return
	}
	i.addMissingLocked(name)
}

// knownMissing reports whether name is known not to exist in directory i.
func (i *inode) knownMissing(name string) bool {
	if !i.fs.exclusive {
		return false
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	_, ok := i.missing[name]
	return ok
}

// addMissing remembers that name does not exist in directory i, unless
// the directory changed since st.
func (i *inode) addMissing(name string, st attrStamp) {
	if !i.fs.exclusive {
		return
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	if st.inval == i.inval {
		i.addMissingLocked(name)
	}
}

func (i *inode) addMissingLocked(name string) {
	if len(i.missing) >= maxNegative || i.missing == nil {
		i.missing = make(map[string]struct{})
	}
	i.missing[name] = struct{}{}
}

// cachedDirents returns a copy of the cached listing of directory i, or
// nil.
func (i *inode) cachedDirents() []vfs.Dirent {
	i.mu.Lock()
	defer i.mu.Unlock()
	return slices.Clone(i.dirents)
}

// storeDirents caches the listing of directory i, read after st.
func (i *inode) storeDirents(ents []vfs.Dirent, st attrStamp) {
	if !i.fs.exclusive {
		return
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	if st.inval == i.inval {
		i.dirents = slices.Clone(ents)
	}
}

// fetchAttr asks the host for i's attributes and caches them.
func (i *inode) fetchAttr() (vfs.Attr, error) {
	st := i.stamp()
	a, err := i.fs.client.Stat(i.fid)
	if err != nil {
		return vfs.Attr{}, err
	}
	i.data.RLock()
	defer i.data.RUnlock()
	return i.setAttrLocked(a, st), nil
}

// newChild makes the inode of a file the server just named, whose
// attributes came with the reply to a request sent after st.
func (fs *FS) newChild(fid fsproto.FID, a fsproto.Attr, st attrStamp) *inode {
	c := &inode{fs: fs, fid: fid}
	c.storeAttrLocked(toAttr(a), attrStamp{gen: st.gen})
	return c
}
