package mm

import (
	"bytes"

	"bulwark.dev/pkg/abi/linux"
)

// copyLocked copies between application memory at addr and buf, walking
// contiguous vmas. Each vma must allow need (PROT_* bits; 0 ignores
// protections, as the kernel's access_process_vm does). It returns the
// count done and linux.EFAULT when it stopped early.
func (m *MemoryManager) copyLocked(addr uintptr, buf []byte, need int, out bool) (int, error) {
	done := 0
	for i := m.vmas.find(addr); done < len(buf); i++ {
		pos := addr + uintptr(done)
		if pos < addr || i >= len(m.vmas) {
			return done, linux.EFAULT
		}
		v := &m.vmas[i]
		if v.start > pos || v.prot&need != need {
			return done, linux.EFAULT
		}
		n := min(uintptr(len(buf)-done), v.end-pos)
		mem, err := m.mf.Bytes(v.off+int64(pos-v.start), int64(n))
		if err != nil {
			return done, linux.EFAULT
		}
		if out {
			copy(mem, buf[done:])
		} else {
			copy(buf[done:], mem)
		}
		done += int(n)
	}
	return done, nil
}

// CopyIn copies from application memory (linux.EFAULT, with the count
// done); the memory must be readable.
func (m *MemoryManager) CopyIn(addr uintptr, dst []byte) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.copyLocked(addr, dst, linux.PROT_READ, false)
}

// CopyOut copies to application memory (linux.EFAULT, with the count done).
// It honours the VMA's protection like the host kernel's copy_to_user: the
// memory must be writable. Copy-on-write pages are unshared first.
func (m *MemoryManager) CopyOut(addr uintptr, src []byte) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.writableLocked(addr, uintptr(len(src))); err != nil {
		return 0, linux.EFAULT // out of memory for the copy
	}
	return m.copyLocked(addr, src, linux.PROT_WRITE, true)
}

// CopyInString reads a NUL-terminated string at addr. The string and its
// NUL must fit in max bytes (as with PATH_MAX): linux.ENAMETOOLONG if no NUL
// is found within max bytes, linux.EFAULT if memory ends before the NUL.
func (m *MemoryManager) CopyInString(addr uintptr, max int) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	const chunk = 256
	var s []byte
	for len(s) < max {
		// Read up to the next page boundary so that a string ending just
		// before unmapped memory does not fault.
		pos := addr + uintptr(len(s))
		n := min(max-len(s), chunk, int(linux.PageSize-pos%linux.PageSize))
		buf := make([]byte, n)
		got, err := m.copyLocked(pos, buf, linux.PROT_READ, false)
		if i := bytes.IndexByte(buf[:got], 0); i >= 0 {
			return string(append(s, buf[:i]...)), nil
		}
		if err != nil {
			return "", err
		}
		s = append(s, buf...)
	}
	return "", linux.ENAMETOOLONG
}
