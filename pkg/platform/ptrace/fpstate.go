package ptrace

import (
	"encoding/binary"
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ptrace requests and the regset of the x86 extended state.
const (
	ptraceGetFPRegs = 14
	ptraceSetFPRegs = 15
	ptraceGetRegset = 0x4204
	ptraceSetRegset = 0x4205
	ntX86XState     = 0x202

	maxXStateSize = 64 << 10 // far above any CPU's XSAVE area

	// Offsets in the FXSAVE area and XSAVE header.
	fxMXCSR     = 24
	fxMXCSRMask = 28
	fxSWBytes   = 464 // fpx_sw_bytes: magic1, extended_size, xfeatures, xstate_size
	fxSize      = 512
	xsHeaderEnd = 576 // end of the 64-byte XSAVE header after the FXSAVE area
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
	if err := ptrace(ptraceGetRegset, s.pid, ntX86XState, uintptr(unsafe.Pointer(&iov))); err == nil && iov.Len >= xsHeaderEnd {
		return &fpFormat{xsave: true, initial: buf[:iov.Len:iov.Len]}, nil
	}
	buf = buf[:fxSize:fxSize]
	if err := ptrace(ptraceGetFPRegs, s.pid, 0, uintptr(unsafe.Pointer(&buf[0]))); err != nil {
		return nil, fmt.Errorf("reading the FPU state of stub %d: %w", s.pid, err)
	}
	return &fpFormat{initial: buf}, nil
}

// getFP reads the thread's state into buf (len(f.initial) bytes).
func (f *fpFormat) getFP(s *stub, buf []byte) error {
	var err error
	if f.xsave {
		iov := unix.Iovec{Base: &buf[0]}
		iov.SetLen(len(buf))
		err = ptrace(ptraceGetRegset, s.pid, ntX86XState, uintptr(unsafe.Pointer(&iov)))
	} else {
		err = ptrace(ptraceGetFPRegs, s.pid, 0, uintptr(unsafe.Pointer(&buf[0])))
	}
	return s.check("reading FPU state", err)
}

// setFP writes buf (len(f.initial) bytes) to the thread.
func (f *fpFormat) setFP(s *stub, buf []byte) error {
	var err error
	if f.xsave {
		iov := unix.Iovec{Base: &buf[0]}
		iov.SetLen(len(buf))
		err = ptrace(ptraceSetRegset, s.pid, ntX86XState, uintptr(unsafe.Pointer(&iov)))
	} else {
		err = ptrace(ptraceSetFPRegs, s.pid, 0, uintptr(unsafe.Pointer(&buf[0])))
	}
	if err != nil {
		return fmt.Errorf("writing FPU state of stub thread %d: %w", s.pid, err)
	}
	return nil
}

// build returns a full state from b (nil: the initial state), checking
// what the host would refuse: reserved MXCSR bits and a bad XSAVE header.
func (f *fpFormat) build(b []byte) ([]byte, error) {
	le := binary.LittleEndian
	buf := append([]byte(nil), f.initial...)
	if b == nil {
		return buf, nil
	}
	if len(b) > len(buf) {
		b = b[:len(buf)]
	}
	copy(buf, b)
	if len(b) < fxSize {
		return nil, fmt.Errorf("FPU state of %d bytes, want at least %d", len(b), fxSize)
	}
	mask := le.Uint32(f.initial[fxMXCSRMask:])
	if mask == 0 {
		mask = 0xffbf
	}
	if le.Uint32(buf[fxMXCSR:])&^mask != 0 {
		return nil, fmt.Errorf("reserved MXCSR bits set: %#x", le.Uint32(buf[fxMXCSR:]))
	}
	// The software-reserved bytes are the host's business.
	copy(buf[fxSWBytes:fxSize], f.initial[fxSWBytes:fxSize])
	if !f.xsave {
		return buf, nil
	}
	// The legacy area always counts: mark x87 and SSE present, as Linux
	// does for an FXSAVE-only signal frame (values in the init state are
	// the same either way).
	le.PutUint64(buf[fxSize:], le.Uint64(buf[fxSize:])|3)
	if len(b) < xsHeaderEnd {
		return buf, nil
	}
	features := le.Uint64(f.initial[fxSWBytes+8:])
	if features == 0 {
		features = ^uint64(0)
	}
	if le.Uint64(buf[fxSize:])&^features != 0 {
		return nil, fmt.Errorf("XSAVE header has unsupported features %#x", le.Uint64(buf[fxSize:]))
	}
	for _, c := range buf[fxSize+8 : xsHeaderEnd] {
		if c != 0 {
			return nil, fmt.Errorf("XSAVE header reserved bytes are not zero")
		}
	}
	return buf, nil
}
