package kernel

import (
	"sync/atomic"

	"bulwark.dev/pkg/vfs"
)

// fdTableRef counts the tasks sharing one fd table (CLONE_FILES).
type fdTableRef struct {
	table *vfs.FDTable
	users atomic.Int32
}

func newFDTableRef(t *vfs.FDTable) *fdTableRef {
	r := &fdTableRef{table: t}
	r.users.Store(1)
	return r
}

func (r *fdTableRef) incRef() { r.users.Add(1) }

// decRef drops a user; the last one closes every fd.
func (r *fdTableRef) decRef() {
	if r.users.Add(-1) == 0 {
		r.table.Release()
	}
}

// shared reports whether another task uses the table.
func (r *fdTableRef) shared() bool { return r.users.Load() > 1 }

// fsContextRef counts the tasks sharing one FSContext (CLONE_FS).
type fsContextRef struct {
	ctx   *vfs.FSContext
	users atomic.Int32
}

func newFSContextRef(c *vfs.FSContext) *fsContextRef {
	r := &fsContextRef{ctx: c}
	r.users.Store(1)
	return r
}

func (r *fsContextRef) incRef() { r.users.Add(1) }

// decRef drops a user; the last one releases the context.
func (r *fsContextRef) decRef() {
	if r.users.Add(-1) == 0 {
		r.ctx.Release()
	}
}
