package kernel

// TaskExists reports whether tid names a live task (0: the caller), for
// the scheduling calls that take a pid and only check it.
func (t *Task) TaskExists(tid int32) bool {
	if tid == 0 {
		return true
	}
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	_, ok := t.k.tasks[tid]
	return ok
}
