package ptrace

// A pool of spare address spaces.
//
// Creating an address space forks the master stub and attaches a new
// tracer thread to the child, and the first Switch into it clones the
// thread the context runs in: several thread hand-offs and host context
// switches that fork and execve would otherwise wait for. The platform
// keeps spareStubs address spaces ready, each with a thread cloned for its
// first context, and makes a new one in the background each time one is
// taken. The pool is first filled at the second address space: the first
// is the init's, and a container that never forks or execs (a static
// server, `run /bin/true`) should not pay for spares while it starts.

// spareStubs is how many ready address spaces the platform keeps.
const spareStubs = 2

// takeSpare returns a ready address space, or nil when there is none, and
// starts making a replacement (from the second call on).
func (p *Platform) takeSpare() *addressSpace {
	if !p.made.Swap(true) {
		return nil
	}
	var as *addressSpace
	select {
	case as = <-p.spare:
	default:
	}
	p.refill()
	return as
}

// refill starts a goroutine that fills the pool, unless one is running.
func (p *Platform) refill() {
	if !p.refilling.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer p.refilling.Store(false)
		for len(p.spare) < cap(p.spare) {
			as, err := p.newAddressSpace()
			if err != nil {
				return // closed, or the host refuses: NewAddressSpace reports it
			}
			if err := as.cloneSpareThread(); err != nil {
				as.Release()
				return
			}
			select {
			case p.spare <- as:
			default:
				as.Release()
			}
		}
	}()
}

// drainSpares releases the spare address spaces (at Close).
func (p *Platform) drainSpares() {
	for {
		select {
		case as := <-p.spare:
			as.Release()
		default:
			return
		}
	}
}

// cloneSpareThread clones the thread the first context will run in.
func (as *addressSpace) cloneSpareThread() error {
	th, err := as.cloneThread()
	if err != nil {
		return err
	}
	as.mu.Lock()
	as.spareThread = th
	as.mu.Unlock()
	return nil
}
