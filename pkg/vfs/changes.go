package vfs

// Changes tells the waiters of an object (a pipe, a socket, a terminal)
// that its state changed. A waiter takes Chan with the object's lock held
// and blocks on the channel once it has released the lock; Notify, with
// the lock held, wakes every waiter. The object's lock guards a Changes;
// its zero value is ready to use, and Notify costs nothing while no one
// waits.
type Changes struct {
	ch chan struct{}
}

// Chan returns the channel the next Notify closes (vfs.Waiter's Notify).
func (c *Changes) Chan() <-chan struct{} {
	if c.ch == nil {
		c.ch = make(chan struct{})
	}
	return c.ch
}

// Notify wakes every waiter of Chan.
func (c *Changes) Notify() {
	if c.ch != nil {
		close(c.ch)
		c.ch = nil
	}
}
