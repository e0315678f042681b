package vfs

import (
	"sync"
	"sync/atomic"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/kernel/auth"
)

// Filesystem change notification (the fsnotify layer under inotify).
// Changes made through the VFS are reported to the EventSinks watching the
// changed inode and, for events about a directory's entries, its parent
// directory (with the entry's name). Changes made behind the VFS's back
// (on the host, in /proc) are not seen.

// EventSink receives the events of the inodes it watches. Notify must not
// block nor call back into the VFS (it runs with VFS locks held).
type EventSink interface {
	// Notify reports mask (linux.IN_* bits, with IN_ISDIR when the subject
	// is a directory) on in; name is the entry's name for events a
	// directory gets about its children, else "". cookie pairs
	// IN_MOVED_FROM with IN_MOVED_TO.
	Notify(in Inode, mask, cookie uint32, name string)
}

var (
	watchMu sync.Mutex
	// watches maps an inode to its sinks, guarded by watchMu.
	watches = map[Inode][]EventSink{}
	// watchCount counts the entries of watches so unwatched changes cost
	// one atomic load.
	watchCount atomic.Int64
	// moveCookie numbers renames.
	moveCookie atomic.Uint32
)

// AddWatch makes s receive the events of in (once, however often it is
// added).
func AddWatch(in Inode, s EventSink) error {
	if !lockable(in) {
		return linux.EINVAL
	}
	watchMu.Lock()
	defer watchMu.Unlock()
	for _, o := range watches[in] {
		if o == s {
			return nil
		}
	}
	if len(watches[in]) == 0 {
		watchCount.Add(1)
	}
	watches[in] = append(watches[in], s)
	return nil
}

// RemoveWatch stops the events of in going to s.
func RemoveWatch(in Inode, s EventSink) {
	if !lockable(in) {
		return
	}
	watchMu.Lock()
	defer watchMu.Unlock()
	list := watches[in]
	for i, o := range list {
		if o == s {
			list = append(list[:i:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		if _, ok := watches[in]; ok {
			delete(watches, in)
			watchCount.Add(-1)
		}
		return
	}
	watches[in] = list
}

// emit sends an event to in's sinks.
func emit(in Inode, mask, cookie uint32, name string) {
	if watchCount.Load() == 0 || !lockable(in) {
		return
	}
	watchMu.Lock()
	sinks := append([]EventSink(nil), watches[in]...)
	watchMu.Unlock()
	for _, s := range sinks {
		s.Notify(in, mask, cookie, name)
	}
}

// isDirBit returns IN_ISDIR for directories.
func isDirBit(ctx Context, in Inode) uint32 {
	if a, err := cachedStat(ctx, in); err == nil && a.Type() == linux.S_IFDIR {
		return linux.IN_ISDIR
	}
	return 0
}

// notifyChild reports mask on child (named name in dir) to the watchers
// of both.
func notifyChild(ctx Context, dir *Dentry, name string, child Inode, mask uint32) {
	if watchCount.Load() == 0 {
		return
	}
	mask |= isDirBit(ctx, child)
	emit(child, mask, 0, "")
	if dir != nil {
		emit(dir.inode, mask, 0, name)
	}
}

// notifyFile reports mask on the file open as f (and to its directory).
func notifyFile(ctx Context, f *File, mask uint32) {
	if watchCount.Load() == 0 {
		return
	}
	if !f.loc.ok() {
		emit(f.inode, mask|isDirBit(ctx, f.inode), 0, "")
		return
	}
	notifyDentry(ctx, f.loc.Dentry, mask)
}

// notifyDentry reports mask on d's inode and, while d is linked, to its
// parent directory.
func notifyDentry(ctx Context, d *Dentry, mask uint32) {
	if watchCount.Load() == 0 {
		return
	}
	renameMu.RLock()
	parent, name := d.parent, d.name
	renameMu.RUnlock()
	if d.dead.Load() {
		parent = nil
	}
	notifyChild(ctx, parent, name, d.inode, mask)
}

// notifyCreate reports a new entry name in dir.
func notifyCreate(ctx Context, dir *Dentry, name string, child Inode) {
	if watchCount.Load() == 0 {
		return
	}
	emit(dir.inode, linux.IN_CREATE|isDirBit(ctx, child), 0, name)
}

// notifyRemove reports the removal of entry name (inode child) from dir:
// IN_DELETE to dir, IN_ATTRIB (link count) or IN_DELETE_SELF to child.
func notifyRemove(ctx Context, dir *Dentry, name string, child Inode) {
	if watchCount.Load() == 0 {
		return
	}
	isDir := isDirBit(ctx, child)
	emit(dir.inode, linux.IN_DELETE|isDir, 0, name)
	if a, err := child.Stat(ctx); err == nil && a.Nlink > 0 && isDir == 0 {
		emit(child, linux.IN_ATTRIB, 0, "")
		return
	}
	emit(child, linux.IN_DELETE_SELF, 0, "")
}

// notifyRename reports that child moved from oldDir/oldName to
// newDir/newName.
func notifyRename(ctx Context, oldDir *Dentry, oldName string, newDir *Dentry, newName string, child Inode) {
	if watchCount.Load() == 0 {
		return
	}
	isDir := isDirBit(ctx, child)
	cookie := moveCookie.Add(1)
	emit(oldDir.inode, linux.IN_MOVED_FROM|isDir, cookie, oldName)
	emit(newDir.inode, linux.IN_MOVED_TO|isDir, cookie, newName)
	emit(child, linux.IN_MOVE_SELF, 0, "")
}

// attrEvent is the event a SetAttr request causes.
func attrEvent(req SetAttrRequest) uint32 {
	var m uint32
	if req.Mask&SetSize != 0 {
		m |= linux.IN_MODIFY
	}
	if req.Mask&^SetSize != 0 {
		m |= linux.IN_ATTRIB
	}
	return m
}

// notifyClose reports the last close of f: IN_CLOSE_WRITE when it was
// open for writing, else IN_CLOSE_NOWRITE (nothing for O_PATH files).
func notifyClose(f *File) {
	if watchCount.Load() == 0 || f.IsPath() {
		return
	}
	mask := uint32(linux.IN_CLOSE_NOWRITE)
	if f.Writable() {
		mask = linux.IN_CLOSE_WRITE
	}
	notifyFile(BackgroundContext(auth.NewRootCredentials()), f, mask)
}
