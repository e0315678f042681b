package stub

import (
	"encoding/binary"
	"fmt"
)

// Offsets in the FXSAVE area and the XSAVE header that follows it, the
// layout of platform.FPContext.
const (
	FxMXCSR     = 24
	FxMXCSRMask = 28
	FxSWBytes   = 464 // fpx_sw_bytes: magic1, extended_size, xfeatures, xstate_size
	FxSize      = 512
	XsHeaderEnd = 576 // end of the 64-byte XSAVE header after the FXSAVE area
)

// BuildFP returns a full FPU state from b (nil: a copy of initial), filling
// what b lacks from initial, the host's state of a new thread (whose length
// is the state size). xsave says whether the state has an XSAVE header. It
// checks what the host would refuse: reserved MXCSR bits and a bad XSAVE
// header; the software-reserved bytes always come from initial.
func BuildFP(initial []byte, xsave bool, b []byte) ([]byte, error) {
	le := binary.LittleEndian
	buf := append([]byte(nil), initial...)
	if b == nil {
		return buf, nil
	}
	if len(b) < FxSize {
		return nil, fmt.Errorf("FPU state of %d bytes, want at least %d", len(b), FxSize)
	}
	if len(b) > len(buf) {
		b = b[:len(buf)]
	}
	copy(buf, b)
	mask := le.Uint32(initial[FxMXCSRMask:])
	if mask == 0 {
		mask = 0xffbf
	}
	if le.Uint32(buf[FxMXCSR:])&^mask != 0 {
		return nil, fmt.Errorf("reserved MXCSR bits set: %#x", le.Uint32(buf[FxMXCSR:]))
	}
	// The software-reserved bytes are the host's business.
	copy(buf[FxSWBytes:FxSize], initial[FxSWBytes:FxSize])
	if !xsave {
		return buf, nil
	}
	// The legacy area always counts: mark x87 and SSE present, as Linux
	// does for an FXSAVE-only signal frame (values in the init state are
	// the same either way).
	le.PutUint64(buf[FxSize:], le.Uint64(buf[FxSize:])|3)
	if len(b) < XsHeaderEnd {
		return buf, nil
	}
	features := le.Uint64(initial[FxSWBytes+8:])
	if features == 0 {
		features = ^uint64(0)
	}
	if le.Uint64(buf[FxSize:])&^features != 0 {
		return nil, fmt.Errorf("XSAVE header has unsupported features %#x", le.Uint64(buf[FxSize:]))
	}
	for _, c := range buf[FxSize+8 : XsHeaderEnd] {
		if c != 0 {
			return nil, fmt.Errorf("XSAVE header reserved bytes are not zero")
		}
	}
	return buf, nil
}
