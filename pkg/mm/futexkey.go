package mm

import "bulwark.dev/pkg/abi/linux"

// FutexLocation returns where the 4-byte word at addr lives: its memory
// file offset and whether its mapping is MAP_SHARED (futexes on shared
// mappings are keyed by the offset so that processes sharing the pages
// meet). The word must be readable, and writable when write is set
// (linux.EFAULT otherwise); for writing, a copy-on-write page is unshared
// first.
func (m *MemoryManager) FutexLocation(addr uintptr, write bool) (off int64, shared bool, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	i := m.vmas.find(addr)
	if i >= len(m.vmas) || addr+4 < addr {
		return 0, false, linux.EFAULT
	}
	v := &m.vmas[i]
	need := linux.PROT_READ
	if write {
		need = linux.PROT_WRITE
	}
	if v.start > addr || addr+4 > v.end || v.prot&need != need {
		return 0, false, linux.EFAULT
	}
	if write && v.cow {
		if err := m.writableLocked(addr, 4); err != nil {
			return 0, false, linux.ENOMEM
		}
		v = &m.vmas[m.vmas.find(addr)]
	}
	return v.off + int64(addr-v.start), v.shared, nil
}
