package mm

import (
	"fmt"
	"strings"
)

// mapsNameColumn is where Linux pads the name column of /proc/[pid]/maps
// to (25 + 6 * sizeof(void*) - 1).
const mapsNameColumn = 72

// maxArea bounds what Cmdline and Environ read.
const maxArea = 16 << 20

// Maps returns the text of /proc/[pid]/maps. Adjacent anonymous vmas with
// the same attributes are shown as one line, as Linux merges them.
func (m *MemoryManager) Maps() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var b strings.Builder
	for i := 0; i < len(m.vmas); i++ {
		v := m.vmas[i]
		end := v.end
		for i+1 < len(m.vmas) && mergeable(&m.vmas[i+1], &v, end) {
			i++
			end = m.vmas[i].end
		}
		writeMapsLine(&b, &v, end)
	}
	return b.String()
}

// mergeable reports whether n continues the line of v that ends at end.
func mergeable(n, v *vma, end uintptr) bool {
	if n.start != end || n.prot != v.prot || n.shared != v.shared || n.name != v.name ||
		(n.src == nil) != (v.src == nil) || n.growsDown != v.growsDown {
		return false
	}
	return v.src == nil || (n.ino == v.ino && n.fileOff == v.fileOff+int64(end-v.start))
}

func writeMapsLine(b *strings.Builder, v *vma, end uintptr) {
	perm := []byte("---p")
	for i, bit := range []int{1, 2, 4} {
		if v.prot&bit != 0 {
			perm[i] = "rwx"[i]
		}
	}
	if v.shared {
		perm[3] = 's'
	}
	var off int64
	if v.src != nil {
		off = v.fileOff
	}
	n, _ := fmt.Fprintf(b, "%08x-%08x %s %08x %02x:%02x %d ", v.start, end, perm, off, v.devMajor, v.devMinor, v.ino)
	if v.name != "" {
		if pad := mapsNameColumn - n; pad > 0 {
			b.WriteString(strings.Repeat(" ", pad))
		}
		b.WriteString(" ")
		b.WriteString(v.name)
	}
	b.WriteString("\n")
}

// SetArgvEnv records where the loader put argv and envp strings, for
// /proc/[pid]/cmdline and environ.
func (m *MemoryManager) SetArgvEnv(argvStart, argvEnd, envStart, envEnd uintptr) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.argvStart, m.argvEnd, m.envStart, m.envEnd = argvStart, argvEnd, envStart, envEnd
}

// Cmdline returns the bytes of argv as /proc/[pid]/cmdline shows them (the
// NUL-separated strings as they are now in memory).
func (m *MemoryManager) Cmdline() []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.readLocked(m.argvStart, m.argvEnd)
}

// Environ returns the bytes of the environment as /proc/[pid]/environ
// shows them.
func (m *MemoryManager) Environ() []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.readLocked(m.envStart, m.envEnd)
}

// readLocked reads [start, end) of memory regardless of protection, as far
// as it is mapped.
func (m *MemoryManager) readLocked(start, end uintptr) []byte {
	if end <= start || end-start > maxArea {
		return nil
	}
	buf := make([]byte, end-start)
	n, _ := m.copyLocked(start, buf, 0, false)
	return buf[:n]
}

// SetExecutable records the path of the executable for /proc/[pid]/exe.
func (m *MemoryManager) SetExecutable(path string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.executable = path
}

// Executable returns the recorded executable path.
func (m *MemoryManager) Executable() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.executable
}
