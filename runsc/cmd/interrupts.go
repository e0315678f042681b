package cmd

import (
	"log"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"bulwark.dev/runsc/container"
)

// relayedSignals are caught while runsc creates a container (so it can clean
// up instead of dying half way) and, in the foreground of `run` and `do`,
// passed on to the container's init.
var relayedSignals = []os.Signal{
	syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT,
	syscall.SIGUSR1, syscall.SIGUSR2,
}

// interrupts holds the signals runsc received since catchInterrupts.
type interrupts struct {
	ch   chan os.Signal
	stop chan struct{}
	wg   sync.WaitGroup
	once sync.Once
}

// catchInterrupts starts catching relayedSignals; call release when done.
func catchInterrupts() *interrupts {
	in := &interrupts{ch: make(chan os.Signal, 16), stop: make(chan struct{})}
	signal.Notify(in.ch, relayedSignals...)
	return in
}

// pending returns a signal received and not yet relayed, if any.
func (in *interrupts) pending() (syscall.Signal, bool) {
	select {
	case s := <-in.ch:
		return s.(syscall.Signal), true
	default:
		return 0, false
	}
}

// relay passes every caught signal, from now until release, to the init of
// c. It works on its own copy of c, so c stays the caller's.
func (in *interrupts) relay(c *container.Container, l *log.Logger) {
	own := *c
	in.wg.Add(1)
	go func() {
		defer in.wg.Done()
		for {
			select {
			case s := <-in.ch:
				sig := s.(syscall.Signal)
				if err := own.Signal(int(sig), false); err != nil {
					l.Printf("relaying %v to container %q: %v", sig, own.ID, err)
				} else {
					l.Printf("relayed %v to container %q", sig, own.ID)
				}
			case <-in.stop:
				return
			}
		}
	}()
}

// release stops catching signals and relaying them. It is idempotent.
func (in *interrupts) release() {
	in.once.Do(func() {
		signal.Stop(in.ch)
		close(in.stop)
		in.wg.Wait()
	})
}
