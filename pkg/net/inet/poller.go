package inet

import (
	"fmt"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Poller turns readiness changes of host sockets into the closing of
// their vfs.Waiter channels, without busy polling.
//
// Why one host epoll instance per sandbox, watched by one goroutine: the
// vfs.Waiter contract is "Notify returns a channel closed at the next
// change", asked without an event mask on every scan of poll, select and
// epoll_wait, so Notify must be a cheap lookup. Each host socket is added
// once, edge-triggered, for every event, when it is created; the
// goroutine blocks in epoll_pwait and, for each reported socket, closes
// its channel if someone took it. An idle socket costs nothing, a waiter
// costs no goroutine and no host call, and cancelling a wait (a signal,
// a timeout) is just leaving ctx.Block. The Go runtime's poller would
// need a goroutine per waiting socket and direction, parked until an
// event or a deadline, with no way to withdraw the wait when the caller
// gives up.
type Poller struct {
	epfd int

	mu      sync.Mutex
	next    uint64            // the last watch id, guarded by mu
	watches map[uint64]*watch // guarded by mu
}

// watch is one host socket's change channel.
type watch struct {
	id uint64

	mu    sync.Mutex
	ch    chan struct{} // closed at the next event, guarded by mu
	taken bool          // someone holds ch, guarded by mu
}

// notify returns the channel closed at the next change.
func (w *watch) notify() <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.taken = true
	return w.ch
}

// fire wakes everyone holding the channel.
func (w *watch) fire() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.taken {
		close(w.ch)
		w.ch = make(chan struct{})
		w.taken = false
	}
}

// hostEvents are what every socket is watched for.
const hostEvents = unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLPRI | unix.EPOLLRDHUP | unix.EPOLLERR |
	unix.EPOLLHUP | unix.EPOLLET

// NewPoller creates the host epoll instance and starts its goroutine,
// which runs for the life of the process.
func NewPoller() (*Poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("creating the socket poller's epoll instance: %w", err)
	}
	p := &Poller{epfd: epfd, watches: map[uint64]*watch{}}
	go p.loop()
	return p, nil
}

// add watches host fd.
func (p *Poller) add(fd int) (*watch, error) {
	p.mu.Lock()
	p.next++
	w := &watch{id: p.next, ch: make(chan struct{})}
	p.watches[w.id] = w
	p.mu.Unlock()
	ev := unix.EpollEvent{Events: hostEvents, Fd: int32(uint32(w.id)), Pad: int32(uint32(w.id >> 32))}
	if err := unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		p.forget(w)
		return nil, errnoOf(err)
	}
	return w, nil
}

// remove stops watching fd (before it is closed) and wakes its waiters.
func (p *Poller) remove(fd int, w *watch) {
	unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, fd, nil)
	p.forget(w)
	w.fire()
}

func (p *Poller) forget(w *watch) {
	p.mu.Lock()
	delete(p.watches, w.id)
	p.mu.Unlock()
}

// loop waits for host events and fires the watches they name.
func (p *Poller) loop() {
	events := make([]unix.EpollEvent, 128)
	for {
		r, _, e := unix.Syscall6(unix.SYS_EPOLL_PWAIT, uintptr(p.epfd), uintptr(unsafe.Pointer(&events[0])),
			uintptr(len(events)), ^uintptr(0), 0, 0)
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return // the instance is gone: nothing more to report
		}
		for _, ev := range events[:int(r)] {
			id := uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
			p.mu.Lock()
			w := p.watches[id]
			p.mu.Unlock()
			if w != nil {
				w.fire()
			}
		}
	}
}
