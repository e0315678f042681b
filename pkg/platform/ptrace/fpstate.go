package ptrace

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"

	istub "bulwark.dev/pkg/platform/internal/stub"
)

// ptrace requests and the regset of the x86 extended state.
const (
	ptraceGetFPRegs = 14
	ptraceSetFPRegs = 15
	ptraceGetRegset = 0x4204
	ptraceSetRegset = 0x4205
	ntX86XState     = 0x202

	maxXStateSize = 64 << 10 // far above any CPU's XSAVE area

	fxSize      = istub.FxSize
	xsHeaderEnd = istub.XsHeaderEnd
)

// fpFormat is how the host exchanges a thread's extended state.
type fpFormat struct {
	xsave   bool   // NT_X86_XSTATE regset; else PTRACE_GETFPREGS (FXSAVE only)
	initial []byte // the state of a freshly exec'd thread; its length is the size
}

// probeFP reads the state of the (freshly exec'd) thread s to learn the
// host's format and initial state.
func probeFP(s *stub) (*fpFormat, error) {
	buf := make([]byte, maxXStateSize)
	iov := unix.Iovec{Base: &buf[0]}
	iov.SetLen(len(buf))
	if err := istub.Ptrace(ptraceGetRegset, s.PID, ntX86XState, uintptr(unsafe.Pointer(&iov))); err == nil && iov.Len >= xsHeaderEnd {
		return &fpFormat{xsave: true, initial: buf[:iov.Len:iov.Len]}, nil
	}
	buf = buf[:fxSize:fxSize]
	if err := istub.Ptrace(ptraceGetFPRegs, s.PID, 0, uintptr(unsafe.Pointer(&buf[0]))); err != nil {
		return nil, fmt.Errorf("reading the FPU state of stub %d: %w", s.PID, err)
	}
	return &fpFormat{initial: buf}, nil
}

// getFP reads the thread's state into buf (len(f.initial) bytes).
func (f *fpFormat) getFP(s *stub, buf []byte) error {
	var err error
	if f.xsave {
		iov := unix.Iovec{Base: &buf[0]}
		iov.SetLen(len(buf))
		err = istub.Ptrace(ptraceGetRegset, s.PID, ntX86XState, uintptr(unsafe.Pointer(&iov)))
	} else {
		err = istub.Ptrace(ptraceGetFPRegs, s.PID, 0, uintptr(unsafe.Pointer(&buf[0])))
	}
	return s.Check("reading FPU state", err)
}

// setFP writes buf (len(f.initial) bytes) to the thread.
func (f *fpFormat) setFP(s *stub, buf []byte) error {
	var err error
	if f.xsave {
		iov := unix.Iovec{Base: &buf[0]}
		iov.SetLen(len(buf))
		err = istub.Ptrace(ptraceSetRegset, s.PID, ntX86XState, uintptr(unsafe.Pointer(&iov)))
	} else {
		err = istub.Ptrace(ptraceSetFPRegs, s.PID, 0, uintptr(unsafe.Pointer(&buf[0])))
	}
	if err != nil {
		return fmt.Errorf("writing FPU state of stub thread %d: %w", s.PID, err)
	}
	return nil
}

// build returns a full state from b (nil: the initial state), checking
// what the host would refuse: see istub.BuildFP.
func (f *fpFormat) build(b []byte) ([]byte, error) {
	return istub.BuildFP(f.initial, f.xsave, b)
}
