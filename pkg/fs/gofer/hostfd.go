package gofer

import (
	"container/list"
	"sync"

	"golang.org/x/sys/unix"

	"bulwark.dev/pkg/abi/linux"
)

// maxIdleFDs bounds the host fds an exclusive filesystem keeps for files
// that have no open file description left, so that opening them again
// costs no round trip.
const maxIdleFDs = 128

// fdCache shares host fds between the open file descriptions of an
// exclusive filesystem's regular files: a file is opened on the host once
// per access mode, and reads and writes use pread and pwrite at each
// description's own offset, so descriptions share nothing else. When a
// file's last description closes, its fds go to an idle list from which
// the least recently used are closed past maxIdleFDs.
//
// A shared filesystem opens a host fd per description, as the host file
// may be replaced between opens.
type fdCache struct {
	mu   sync.Mutex // guards idle and every inode's hostFDs; a leaf lock
	idle list.List  // of *inode with host fds and no opens, most recent first
}

// hostFDs are one inode's host fds, guarded by fdCache.mu.
type hostFDs struct {
	fd   [3]int // by access mode (O_RDONLY, O_WRONLY, O_RDWR); -1 if none
	refs [3]int // open descriptions using each
	elem *list.Element
}

// getFD returns a host fd of regular file i open with access mode acc for
// a new open file description, which gives it back with putFD.
func (i *inode) getFD(acc uint32) (int, error) {
	if acc > linux.O_RDWR {
		return -1, linux.EINVAL
	}
	if !i.fs.exclusive {
		return i.fs.client.Open(i.fid, acc)
	}
	if fd, ok := i.fs.fds.take(i, acc); ok {
		return fd, nil
	}
	fd, err := i.fs.client.Open(i.fid, acc)
	if err != nil {
		return -1, err
	}
	return i.fs.fds.adopt(i, acc, fd), nil
}

// putFD gives back a host fd returned by getFD or by Create.
func (i *inode) putFD(acc uint32, fd int) {
	if !i.fs.exclusive {
		unix.Close(fd)
		return
	}
	i.fs.fds.put(i, acc)
}

// take returns i's fd for acc with a new reference, if it has one.
func (c *fdCache) take(i *inode, acc uint32) (int, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	h := i.hostFDs
	if h == nil || h.fd[acc] < 0 {
		return -1, false
	}
	c.refLocked(h, acc)
	return h.fd[acc], true
}

// adopt makes fd, just opened with acc, i's fd for acc and returns it with
// a reference, unless another open won the race: then fd is closed and
// the winner's returned.
func (c *fdCache) adopt(i *inode, acc uint32, fd int) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	h := i.hostFDs
	if h == nil {
		h = &hostFDs{fd: [3]int{-1, -1, -1}}
		i.hostFDs = h
	}
	if h.fd[acc] >= 0 {
		unix.Close(fd)
	} else {
		h.fd[acc] = fd
	}
	c.refLocked(h, acc)
	return h.fd[acc]
}

func (c *fdCache) refLocked(h *hostFDs, acc uint32) {
	h.refs[acc]++
	if h.elem != nil {
		c.idle.Remove(h.elem)
		h.elem = nil
	}
}

// put drops a reference to i's fd for acc.
func (c *fdCache) put(i *inode, acc uint32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	h := i.hostFDs
	h.refs[acc]--
	if h.refs != [3]int{} {
		return
	}
	h.elem = c.idle.PushFront(i)
	for c.idle.Len() > maxIdleFDs {
		c.closeLocked(c.idle.Back().Value.(*inode))
	}
}

// flushIdle closes the fds of every file with no open description.
func (c *fdCache) flushIdle() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.idle.Len() > 0 {
		c.closeLocked(c.idle.Back().Value.(*inode))
	}
}

// closeLocked closes the fds of idle inode i.
func (c *fdCache) closeLocked(i *inode) {
	h := i.hostFDs
	c.idle.Remove(h.elem)
	for _, fd := range h.fd {
		if fd >= 0 {
			unix.Close(fd)
		}
	}
	i.hostFDs = nil
}

// accMode is the index of an open's access mode in hostFDs.
func accMode(flags uint32) uint32 { return flags & linux.O_ACCMODE }
