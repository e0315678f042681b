package devpts

import (
	"sync"
	"time"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/fs/host"
	"bulwark.dev/pkg/kernel"
	"bulwark.dev/pkg/vfs"
)

// Pseudo-terminals of the sandbox.
//
// Opening ptmx makes a pty: the opener gets its master, and its slave
// appears as /dev/pts/N until the master is closed, the index N staying
// taken until both sides are. The pty's line discipline (ldisc) runs in
// the sandbox kernel; the kernel keeps its job control under the id
// kernel.LocalTerminal|rdev.
//
// Locks: Terminals.mu and pty.mu are never held together, and neither is
// held while calling into the kernel (which takes its own lock to signal
// and to check job control).

// ttyGID is the group of slaves (devpts's gid=5 option, which glibc's
// grantpt expects).
const ttyGID = 5

// slaveMode are the permissions of a new slave.
const slaveMode = 0o620

// pty is one pseudo-terminal.
type pty struct {
	index uint32
	id    uint64         // the kernel's terminal id of the slave
	node  *slaveNode     // /dev/pts/N
	kern  *kernel.Kernel // receives signals and hang-ups; nil outside a kernel
	ts    *Terminals     // frees the index

	mu          sync.Mutex
	ld          ldisc         // guarded by mu
	master      linux.Termios // the master's own settings, guarded by mu
	winsize     linux.Winsize // guarded by mu
	locked      bool          // the slave cannot be opened (TIOCSPTLCK), guarded by mu
	slaves      int           // open slave files, guarded by mu
	otherClosed bool          // the last slave file was closed, guarded by mu
	hungUp      bool          // the master was closed, guarded by mu
	changed     vfs.Changes   // the waiters of a change, guarded by mu
}

// ptyRdev is the device number of /dev/pts/n.
func ptyRdev(n uint32) uint32 {
	return vfs.MakeDev(linux.UNIX98_PTY_SLAVE_MAJOR+n/256, n%256)
}

func newPTY(ts *Terminals, n uint32, kern *kernel.Kernel, uid uint32) *pty {
	p := &pty{
		index: n, id: kernel.LocalTerminal | uint64(ptyRdev(n)), kern: kern, ts: ts,
		ld: newLdisc(), master: masterTermios(), locked: true,
	}
	now := time.Now()
	p.node = &slaveNode{p: p, born: linux.Timespec{Sec: now.Unix(), Nsec: int64(now.Nanosecond())}}
	p.node.mode, p.node.uid, p.node.gid = slaveMode, uid, ttyGID
	return p
}

// noDeadline waits without a timer.
var noDeadline time.Time

// notifyLocked wakes every waiter.
func (p *pty) notifyLocked() {
	p.changed.Notify()
}

// notify wakes every waiter (a VTIME timer).
func (p *pty) notify() {
	p.mu.Lock()
	p.notifyLocked()
	p.mu.Unlock()
}

// wait blocks until the next change, until deadline if it is not zero, or
// until a signal (linux.ERESTARTSYS). p.mu is held on entry and return.
func (p *pty) wait(ctx vfs.Context, deadline time.Time) error {
	ch := p.changed.Chan()
	p.mu.Unlock()
	if !deadline.IsZero() {
		tm := time.AfterFunc(time.Until(deadline), p.notify)
		defer tm.Stop()
	}
	err := ctx.Block(ch)
	p.mu.Lock()
	if err != nil {
		return linux.ERESTARTSYS
	}
	return nil
}

// signal sends keyboard or window-size signals to the slave's foreground
// process group. p.mu must not be held.
func (p *pty) signal(sigs ...int) {
	if p.kern == nil {
		return
	}
	for _, sig := range sigs {
		p.kern.SignalForeground(p.id, sig) // ESRCH: it controls no session
	}
}

// openSlave opens the slave with open(2) flags: EIO while it is locked
// or after the hang-up. Without O_NOCTTY a session leader without a
// controlling terminal gets this one, as on Linux.
func (p *pty) openSlave(ctx vfs.Context, flags uint32) (vfs.FileImpl, error) {
	p.mu.Lock()
	if p.locked || p.hungUp {
		p.mu.Unlock()
		return nil, linux.EIO
	}
	p.slaves++
	p.otherClosed = false
	p.notifyLocked()
	p.mu.Unlock()
	if flags&linux.O_NOCTTY == 0 {
		if c, ok := ctx.(ctermSetter); ok {
			c.SetControllingTerminal(p.id, false) // fails unless it may take it
		}
	}
	return &slaveFile{p: p}, nil
}

// ctermSetter is implemented by the sandbox kernel's tasks.
type ctermSetter interface {
	SetControllingTerminal(id uint64, steal bool) error
}

// releaseSlave is the last close of a slave file.
func (p *pty) releaseSlave() {
	p.mu.Lock()
	p.slaves--
	done := p.slaves == 0 && p.hungUp
	if p.slaves == 0 {
		p.otherClosed = true
	}
	p.notifyLocked()
	p.mu.Unlock()
	if done {
		p.ts.free(p)
	}
}

// hangUp is the last close of the master: the slave's entry goes, its
// files read end of file and fail writes with EIO, and its session gets
// SIGHUP.
func (p *pty) hangUp() {
	p.mu.Lock()
	p.hungUp = true
	p.ld.flushInput()
	p.ld.outq = nil
	done := p.slaves == 0
	p.notifyLocked()
	p.mu.Unlock()
	p.ts.hide(p)
	if p.kern != nil {
		p.kern.HangUpTerminal(p.id)
	}
	if done {
		p.ts.free(p)
	}
}

// slaveNode is /dev/pts/N of a pty.
type slaveNode struct {
	nodeAttrs
	p    *pty
	born linux.Timespec
}

// Stat implements vfs.Inode.
func (n *slaveNode) Stat(vfs.Context) (vfs.Attr, error) {
	a := n.attr(host.PTSIno(n.p.index), ptyRdev(n.p.index))
	a.Atime, a.Mtime, a.Ctime = n.born, n.born, n.born
	return a, nil
}

// Open implements vfs.Inode.
func (n *slaveNode) Open(ctx vfs.Context, flags uint32) (vfs.FileImpl, error) {
	return n.p.openSlave(ctx, flags)
}

// nodeAttrs are the permissions and owner of a device node of devpts,
// which chmod and chown change.
type nodeAttrs struct {
	mu       sync.Mutex
	mode     uint32 // permission bits, guarded by mu
	uid, gid uint32 // guarded by mu
}

// attr returns the attributes of a character device node.
func (a *nodeAttrs) attr(ino uint64, rdev uint32) vfs.Attr {
	a.mu.Lock()
	defer a.mu.Unlock()
	return vfs.Attr{
		Mode: linux.S_IFCHR | a.mode, UID: a.uid, GID: a.gid, Nlink: 1, BlkSize: 4096,
		Ino: ino, Dev: host.PTSDev, Rdev: rdev,
	}
}

// SetAttr implements vfs.SetAttrer: chmod and chown.
func (a *nodeAttrs) SetAttr(_ vfs.Context, req vfs.SetAttrRequest) error {
	if req.Mask&vfs.SetSize != 0 {
		return linux.EINVAL
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if req.Mask&vfs.SetMode != 0 {
		a.mode = req.Mode & linux.PermMask
	}
	if req.Mask&vfs.SetUID != 0 {
		a.uid = req.UID
	}
	if req.Mask&vfs.SetGID != 0 {
		a.gid = req.GID
	}
	return nil
}
