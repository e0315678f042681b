package devpts

import (
	"fmt"
	"slices"
	"strconv"
	"sync"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/fs/dev"
	"bulwark.dev/pkg/fs/host"
	"bulwark.dev/pkg/kernel"
	"bulwark.dev/pkg/vfs"
)

// maxPTYs bounds the indices of the sandbox's ptys (the device numbers of
// majors 136 to 143).
const maxPTYs = linux.UNIX98_PTY_MAJOR_COUNT * 256

// Terminals are the terminals every devpts of a sandbox shows, by index
// N: the host pty slaves the sandbox gave container processes (Add) and
// the ptys made by opening ptmx. Both share one index space: a new pty
// takes the lowest index neither uses.
type Terminals struct {
	mu    sync.Mutex
	nodes map[uint32]*host.PTSNode // guarded by mu
	ptys  map[uint32]*pty          // indices taken by ptys, guarded by mu
	shown map[uint32]bool          // ptys whose master is open, guarded by mu
}

// NewTerminals returns an empty set.
func NewTerminals() *Terminals {
	return &Terminals{nodes: map[uint32]*host.PTSNode{}, ptys: map[uint32]*pty{}, shown: map[uint32]bool{}}
}

// RegisterDevices makes the character devices ptmx (5:2) and tty (5:0)
// open through ts wherever their nodes are.
func (ts *Terminals) RegisterDevices() {
	vfs.RegisterCharDevice(PTMX, func(ctx vfs.Context, _ uint32) (vfs.FileImpl, error) {
		return ts.openMaster(ctx)
	})
	vfs.RegisterCharDevice(dev.TTY, ts.openTTY)
}

// Add shows host pty slave fd as /dev/pts/N and returns N. It takes
// ownership of fd (also on error). The entry goes away when the host
// hangs the tty up (its master was closed). Adding a tty that is already
// shown changes nothing; one whose index a pty of the sandbox holds is
// not shown (error).
func (ts *Terminals) Add(fd int) (uint32, error) {
	node, err := host.NewPTSNode(fd)
	if err != nil {
		return 0, err
	}
	n := node.Index()
	ts.mu.Lock()
	if ts.ptys[n] != nil {
		ts.mu.Unlock()
		node.Close()
		return n, fmt.Errorf("host pty %d: its index is taken by a pty of the sandbox", n)
	}
	if old := ts.nodes[n]; old != nil {
		select {
		case <-old.Done():
		default:
			ts.mu.Unlock()
			node.Close()
			return n, nil
		}
	}
	ts.nodes[n] = node
	ts.mu.Unlock()
	go func() {
		<-node.Done()
		ts.mu.Lock()
		if ts.nodes[n] == node {
			delete(ts.nodes, n)
		}
		ts.mu.Unlock()
		node.Close()
	}()
	return n, nil
}

// Remove stops showing host terminal /dev/pts/n.
func (ts *Terminals) Remove(n uint32) {
	ts.mu.Lock()
	node := ts.nodes[n]
	delete(ts.nodes, n)
	ts.mu.Unlock()
	if node != nil {
		node.Close()
	}
}

// openMaster makes a pty and returns its master. The slave belongs to the
// caller's effective uid; ctx's kernel (a task's) gets its signals.
func (ts *Terminals) openMaster(ctx vfs.Context) (vfs.FileImpl, error) {
	var kern *kernel.Kernel
	if t, ok := ctx.(*kernel.Task); ok {
		kern = t.Kernel()
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	for n := uint32(0); n < maxPTYs; n++ {
		if ts.ptys[n] == nil && ts.nodes[n] == nil {
			p := newPTY(ts, n, kern, ctx.Credentials().EffectiveUID)
			ts.ptys[n], ts.shown[n] = p, true
			return &masterFile{p: p}, nil
		}
	}
	return nil, linux.ENOSPC
}

// hide removes p's entry (its master was closed).
func (ts *Terminals) hide(p *pty) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.ptys[p.index] == p {
		delete(ts.shown, p.index)
	}
}

// free releases p's index (both sides are closed).
func (ts *Terminals) free(p *pty) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.ptys[p.index] == p {
		delete(ts.ptys, p.index)
		delete(ts.shown, p.index)
	}
}

// entries lists the terminals in numeric order.
func (ts *Terminals) entries() []vfs.Entry {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ns := make([]uint32, 0, len(ts.nodes)+len(ts.shown))
	for n := range ts.nodes {
		ns = append(ns, n)
	}
	for n := range ts.shown {
		ns = append(ns, n)
	}
	slices.Sort(ns)
	out := make([]vfs.Entry, 0, len(ns))
	for _, n := range ns {
		out = append(out, vfs.Entry{Name: strconv.FormatUint(uint64(n), 10), Inode: ts.nodeLocked(n)})
	}
	return out
}

// nodeLocked returns the node shown as n, or nil.
func (ts *Terminals) nodeLocked(n uint32) vfs.Inode {
	if node := ts.nodes[n]; node != nil {
		return node
	}
	if ts.shown[n] {
		return ts.ptys[n].node
	}
	return nil
}

// lookup returns the node named name, or nil.
func (ts *Terminals) lookup(name string) vfs.Inode {
	n, err := strconv.ParseUint(name, 10, 32)
	if err != nil || strconv.FormatUint(n, 10) != name {
		return nil
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.nodeLocked(uint32(n))
}
