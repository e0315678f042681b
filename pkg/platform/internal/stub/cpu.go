package stub

import (
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// lslCPU reads the segment limit of Linux's per-CPU vDSO segment, which
// holds node<<12 | cpu (see cpu_amd64.s); ok is false if the CPU refused.
func lslCPU() (v uint32, ok bool)

// cpuMask is the bits of the segment limit that hold the CPU number.
const cpuMask = 0xfff

// MaxPinCPU bounds the CPUs stub threads are pinned to: their masks are
// 8-byte sets in the stub image (see PinMasks).
const MaxPinCPU = 64

// lslOK is set by ProbeCPU when lslCPU can be trusted.
var lslOK atomic.Bool

// probeLSL reports whether lslCPU agrees with the getcpu system call on
// this host. It runs once, before the sandbox's seccomp filter is
// installed (getcpu is not allowed after).
var probeLSL = sync.OnceValue(func() bool {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	// The thread may move between the two reads: a few tries.
	for i := 0; i < 3; i++ {
		v, ok := lslCPU()
		if !ok {
			return false
		}
		var cpu uint32
		_, _, e := unix.RawSyscall(unix.SYS_GETCPU, uintptr(unsafe.Pointer(&cpu)), 0, 0)
		if e != 0 {
			return false
		}
		if v&cpuMask == cpu {
			return true
		}
	}
	return false
})

// ProbeCPU learns whether CurrentCPU works on this host. Platforms call it
// in New, before the sandbox confines itself; until then CurrentCPU
// reports nothing.
func ProbeCPU() bool {
	ok := probeLSL()
	lslOK.Store(ok)
	return ok
}

// CurrentCPU returns the CPU the calling thread runs on (it may move right
// after), without a system call; ok is false when the host does not tell
// (then ProbeCPU was false, or was never called).
func CurrentCPU() (cpu int, ok bool) {
	if !lslOK.Load() {
		return 0, false
	}
	v, ok := lslCPU()
	return int(v & cpuMask), ok
}
