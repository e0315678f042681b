package kernel

// SetChildSubreaper implements PR_SET_CHILD_SUBREAPER: orphaned descendants
// of a subreaper are reparented to it instead of the init.
func (t *Task) SetChildSubreaper(on bool) {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	t.tg.subreaper = on
}

// ChildSubreaper implements PR_GET_CHILD_SUBREAPER.
func (t *Task) ChildSubreaper() bool {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	return t.tg.subreaper
}

// newReaperLocked returns who adopts the children of exiting tg: its
// nearest living ancestor marked as a subreaper, or else init (nil when the
// init itself is gone), as Linux's find_new_reaper does.
func (k *Kernel) newReaperLocked(tg, init *ThreadGroup) *ThreadGroup {
	for p := tg.parent; p != nil; p = p.parent {
		if p.subreaper && !p.exiting && !p.zombie {
			return p
		}
	}
	return init
}
