package fsproto

import (
	"golang.org/x/sys/unix"
)

// node is one host file the server holds an O_PATH fd for. The nodes form a
// tree mirroring the host directories walked so far, so the server always
// knows a file's parent and name without asking the host to resolve a path.
//
// All fields but fd, ftype, dev and ino are guarded by Server.mu.
type node struct {
	fd       int    // O_PATH|O_NOFOLLOW fd, owned
	ftype    uint32 // S_IFMT bits: an inode never changes type
	dev, ino uint64 // identity, to detect a name that now names another file

	parent   *node            // nil for the top of the tree
	name     string           // name in parent; "" once unknown (unlinked or replaced)
	children map[string]*node // live nodes named in this directory (no references)
	refs     int              // FIDs naming the node plus nodes whose parent it is
}

func newNode(fd int, st *unix.Stat_t) *node {
	return &node{fd: fd, ftype: st.Mode & unix.S_IFMT, dev: st.Dev, ino: st.Ino}
}

func (n *node) isDir() bool { return n.ftype == unix.S_IFDIR }

// same reports whether st describes n's inode.
func (n *node) same(st *unix.Stat_t) bool { return st.Dev == n.dev && st.Ino == n.ino }

// incRef takes a reference. Server.mu must be held for writing.
func (n *node) incRef() { n.refs++ }

// decRef drops a reference and frees n (and, in turn, ancestors nobody
// else references) when it was the last. Server.mu must be held for
// writing.
func (n *node) decRef() {
	for n != nil {
		n.refs--
		if n.refs > 0 {
			return
		}
		p := n.parent
		n.detach()
		unix.Close(n.fd)
		n.fd = -1
		n = p
	}
}

// detach forgets n's name in its parent (it was unlinked, replaced or
// freed). n keeps its parent pointer and the reference on it. Server.mu
// must be held for writing.
func (n *node) detach() {
	if n.parent != nil && n.name != "" && n.parent.children[n.name] == n {
		delete(n.parent.children, n.name)
	}
	n.name = ""
}

// attach names child in dir as name, replacing (detaching) whatever node
// had that name, and moves child's parent reference to dir. child must
// not already be named. Server.mu must be held for writing.
func (dir *node) attach(name string, child *node) {
	if old := dir.children[name]; old != nil {
		old.detach()
	}
	if dir.children == nil {
		dir.children = make(map[string]*node)
	}
	dir.children[name] = child
	dir.incRef()
	if child.parent != nil {
		child.parent.decRef() // never the last: the caller holds dir's and the old parent's FIDs
	}
	child.parent = dir
	child.name = name
}
