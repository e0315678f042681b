package fsproto

import (
	"bulwark.dev/pkg/abi/linux"
	"golang.org/x/sys/unix"
)

// This file holds the handlers that do not change the host tree.

func (ss *session) attach(d *decoder, e *encoder) (int, error) {
	if !d.done() {
		return -1, linux.EINVAL
	}
	s := ss.srv
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.root == nil {
		return -1, linux.EBADF
	}
	a, err := statAttr(s.root.fd)
	if err != nil {
		return -1, err
	}
	e.fid(ss.newFID(s.root))
	e.attr(a)
	return -1, nil
}

// dirAndName decodes a request that is a directory and one component of
// it, with nothing after: the directory (to put back) and the name.
func (ss *session) dirAndName(d *decoder) (*node, string, error) {
	dirF, name := d.fid(), d.str()
	if !d.done() {
		return nil, "", linux.EINVAL
	}
	if err := checkName(name); err != nil {
		return nil, "", err
	}
	dn, err := ss.getDir(dirF)
	if err != nil {
		return nil, "", err
	}
	return dn, name, nil
}

// walk looks up one component. It holds Server.mu for writing so that the
// name it records matches the file it opened.
func (ss *session) walk(d *decoder, e *encoder) (int, error) {
	dn, name, err := ss.dirAndName(d)
	if err != nil {
		return -1, err
	}
	defer ss.put(dn)

	s := ss.srv
	s.mu.Lock()
	defer s.mu.Unlock()
	fd, err := unix.Openat(dn.fd, name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	var st unix.Stat_t
	if err := fstat(fd, &st); err != nil {
		unix.Close(fd)
		return -1, err
	}
	n := dn.children[name]
	if n != nil && n.same(&st) {
		unix.Close(fd)
	} else {
		n = newNode(fd, &st)
		dn.attach(name, n)
	}
	e.fid(ss.newFID(n))
	e.attr(toAttr(&st))
	return -1, nil
}

// walkParent answers ".." from the server's own tree: the root (and
// anything that is not below it) is its own parent.
func (ss *session) walkParent(d *decoder, e *encoder) (int, error) {
	f := d.fid()
	if !d.done() {
		return -1, linux.EINVAL
	}
	n, err := ss.get(f)
	if err != nil {
		return -1, err
	}
	defer ss.put(n)
	s := ss.srv
	s.mu.Lock()
	defer s.mu.Unlock()
	p := n.parent
	if n == s.root || p == nil {
		p = s.root
	}
	if p == nil {
		return -1, linux.EBADF
	}
	a, err := statAttr(p.fd)
	if err != nil {
		return -1, err
	}
	e.fid(ss.newFID(p))
	e.attr(a)
	return -1, nil
}

func (ss *session) stat(d *decoder, e *encoder) (int, error) {
	f := d.fid()
	if !d.done() {
		return -1, linux.EINVAL
	}
	n, err := ss.get(f)
	if err != nil {
		return -1, err
	}
	defer ss.put(n)
	a, err := statAttr(n.fd)
	if err != nil {
		return -1, err
	}
	e.attr(a)
	return -1, nil
}

// statAt stats one component of a directory without opening it (and
// without following a symlink at it): how a client checks that a name it
// walked before still names the same file.
func (ss *session) statAt(d *decoder, e *encoder) (int, error) {
	dn, name, err := ss.dirAndName(d)
	if err != nil {
		return -1, err
	}
	defer ss.put(dn)
	var st unix.Stat_t
	if err := unix.Fstatat(dn.fd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return -1, err
	}
	e.attr(toAttr(&st))
	return -1, nil
}

// open opens a file for I/O and donates the fd. Device nodes are never
// opened (the sandbox serves its own /dev) and a FIFO is opened
// non-blocking so that it cannot stall the gofer.
func (ss *session) open(d *decoder, e *encoder) (int, error) {
	f, flags := d.fid(), d.u32()
	if !d.done() {
		return -1, linux.EINVAL
	}
	fl, err := checkOpenFlags(flags, ss.srv.opts.ReadOnly)
	if err != nil {
		return -1, err
	}
	n, err := ss.get(f)
	if err != nil {
		return -1, err
	}
	defer ss.put(n)
	switch n.ftype {
	case unix.S_IFDIR:
		if fl&unix.O_ACCMODE != unix.O_RDONLY {
			return -1, linux.EISDIR
		}
		return unix.Openat(n.fd, ".", fl|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	case unix.S_IFREG, unix.S_IFIFO:
		ss.srv.mu.RLock()
		defer ss.srv.mu.RUnlock()
		return reopen(n, fl)
	case unix.S_IFLNK:
		return -1, linux.ELOOP
	case unix.S_IFSOCK:
		return -1, linux.ENXIO
	default:
		return -1, linux.EPERM
	}
}

// reopen opens the regular file or FIFO n for I/O by its parent and name
// (an O_PATH fd cannot be reopened without /proc, which the confined gofer
// does not have), refusing a symlink and checking that the name still
// names n. Server.mu must be held.
func reopen(n *node, flags int) (int, error) {
	p, name := n.parent, n.name
	if p == nil || name == "" {
		return -1, linux.ESTALE
	}
	if n.ftype == unix.S_IFIFO {
		flags |= unix.O_NONBLOCK
	}
	fd, err := unix.Openat(p.fd, name, flags|unix.O_NOFOLLOW|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	var st unix.Stat_t
	if err := fstat(fd, &st); err != nil {
		unix.Close(fd)
		return -1, err
	}
	if !n.same(&st) {
		unix.Close(fd)
		return -1, linux.ESTALE
	}
	return fd, nil
}

// readdirBudget is the room a readdir reply has for entries.
const readdirBudget = MaxMessage - headerSize - 8 - 1 - 4

// readdir returns one page of entries from the position cookie (a d_off
// from getdents64; 0 is the start) and the cookie of the next page.
func (ss *session) readdir(d *decoder, e *encoder) (int, error) {
	f, cookie := d.fid(), d.u64()
	if !d.done() {
		return -1, linux.EINVAL
	}
	n, err := ss.getDir(f)
	if err != nil {
		return -1, err
	}
	defer ss.put(n)
	fd, err := unix.Openat(n.fd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	defer unix.Close(fd)
	if cookie != 0 {
		if _, err := unix.Seek(fd, int64(cookie), 0); err != nil {
			return -1, err
		}
	}
	var ents []Dirent
	next, eof, budget := cookie, false, readdirBudget
	buf := make([]byte, 8192)
fill:
	for {
		nb, err := unix.Getdents(fd, buf)
		if err != nil {
			return -1, err
		}
		if nb == 0 {
			eof = true
			break
		}
		for b := buf[:nb]; len(b) > 0; {
			de, off, rl := parseDirent(b)
			if rl == 0 {
				return -1, linux.EIO
			}
			if de.Name != "." && de.Name != ".." {
				sz := direntSize(de.Name)
				if sz > budget {
					break fill
				}
				budget -= sz
				ents = append(ents, de)
			}
			next = off
			b = b[rl:]
		}
	}
	e.u64(next)
	if eof {
		e.u8(1)
	} else {
		e.u8(0)
	}
	e.u32(uint32(len(ents)))
	for _, de := range ents {
		e.u64(de.Ino)
		e.u8(de.Type)
		e.str(de.Name)
	}
	return -1, nil
}

func (ss *session) readlink(d *decoder, e *encoder) (int, error) {
	f := d.fid()
	if !d.done() {
		return -1, linux.EINVAL
	}
	n, err := ss.get(f)
	if err != nil {
		return -1, err
	}
	defer ss.put(n)
	if n.ftype != unix.S_IFLNK {
		return -1, linux.EINVAL
	}
	buf := make([]byte, maxTarget+1)
	l, err := unix.Readlinkat(n.fd, "", buf)
	if err != nil {
		return -1, err
	}
	if l > maxTarget {
		return -1, linux.ENAMETOOLONG
	}
	e.str(string(buf[:l]))
	return -1, nil
}

func (ss *session) statFS(d *decoder, e *encoder) (int, error) {
	f := d.fid()
	if !d.done() {
		return -1, linux.EINVAL
	}
	n, err := ss.get(f)
	if err != nil {
		return -1, err
	}
	defer ss.put(n)
	var st unix.Statfs_t
	if err := unix.Fstatfs(n.fd, &st); err != nil {
		return -1, err
	}
	for _, v := range []uint64{uint64(st.Type), uint64(st.Bsize), st.Blocks, st.Bfree, st.Bavail, st.Files, st.Ffree, uint64(st.Namelen)} {
		e.u64(v)
	}
	return -1, nil
}

func (ss *session) release(d *decoder, e *encoder) (int, error) {
	f := d.fid()
	if !d.done() {
		return -1, linux.EINVAL
	}
	s := ss.srv
	s.mu.Lock()
	defer s.mu.Unlock()
	n := ss.fids[f]
	if n == nil {
		return -1, linux.EBADF
	}
	delete(ss.fids, f)
	n.decRef()
	return -1, nil
}
