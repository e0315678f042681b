package systrap

import (
	"encoding/binary"
	"fmt"

	istub "bulwark.dev/pkg/platform/internal/stub"
)

// The FPU state of a context thread is the XSAVE area of its signal frame,
// which is the layout platform.FPContext uses: a 512-byte FXSAVE area whose
// bytes 464..511 hold fpx_sw_bytes, then the XSAVE header and components.
const (
	fxSWBytes   = istub.FxSWBytes
	fxSize      = istub.FxSize
	xsHeaderEnd = istub.XsHeaderEnd
	fpMagic1    = 0x46505853 // FP_XSTATE_MAGIC1 in fpx_sw_bytes
	fpMagic2    = 4          // bytes of FP_XSTATE_MAGIC2 after the area
)

// fpFormat is the host's signal-frame FPU format.
type fpFormat struct {
	xsave   bool
	initial []byte // the state of a new thread; its length is the size
}

// probeFP learns the format and the initial state from the first frame of
// a new thread.
func probeFP(p *Platform) (*fpFormat, error) {
	as, err := p.newAddressSpace()
	if err != nil {
		return nil, fmt.Errorf("probing the FPU state: %w", err)
	}
	defer as.Release()
	th, err := as.newThread()
	if err != nil {
		return nil, fmt.Errorf("probing the FPU state: %w", err)
	}
	defer th.drop()
	off, err := th.sl.frame(hdrCtx, ucSize)
	if err != nil {
		return nil, err
	}
	le := binary.LittleEndian
	fpOff, err := th.sl.fpFrame(off, fxSize)
	if err != nil {
		return nil, err
	}
	f := &fpFormat{}
	size := fxSize
	sw := th.sl.mem[fpOff+fxSWBytes:]
	if le.Uint32(sw) == fpMagic1 {
		size = int(le.Uint32(sw[16:])) // xstate_size
		if size < xsHeaderEnd || size > slotSize-pageSize {
			return nil, fmt.Errorf("implausible XSAVE size %d in a signal frame", size)
		}
		f.xsave = true
	}
	if _, err := th.sl.fpFrame(off, uintptr(size)); err != nil {
		return nil, err
	}
	f.initial = append([]byte(nil), th.sl.mem[fpOff:fpOff+size]...)
	f.normalize(f.initial)
	return f, nil
}

// fpFrame is the slot offset of the FPU area of the frame at off, checked
// to hold size bytes.
func (s *slot) fpFrame(off int, size uintptr) (int, error) {
	p := uintptr(binary.LittleEndian.Uint64(s.mem[off+ucFPState:]))
	if p < s.stub+pageSize || p > s.stub+slotSize-size-fpMagic2 {
		return 0, fmt.Errorf("stub thread reported an FPU area at %#x outside its slot %#x", p, s.stub)
	}
	return int(p - s.stub), nil
}

// normalize fills the legacy components a signal frame may leave out
// (XSAVE writes nothing for a component in its initial configuration) with
// their initial values, and marks them present, so that b reads the same
// as ptrace's NT_X86_XSTATE view.
func (f *fpFormat) normalize(b []byte) {
	if !f.xsave {
		return
	}
	le := binary.LittleEndian
	bv := le.Uint64(b[fxSize:])
	if bv&1 == 0 { // x87
		clear(b[0:24])
		le.PutUint16(b[0:], 0x37f)
		clear(b[32:160])
	}
	if bv&2 == 0 { // SSE registers
		clear(b[160:416])
	}
	le.PutUint64(b[fxSize:], bv|3)
}

// read returns a copy of the FPU state of th's current frame.
func (f *fpFormat) read(th *thread) ([]byte, error) {
	off, err := th.sl.frame(hdrCtx, ucSize)
	if err != nil {
		return nil, err
	}
	fpOff, err := th.sl.fpFrame(off, uintptr(len(f.initial)))
	if err != nil {
		return nil, err
	}
	b := append([]byte(nil), th.sl.mem[fpOff:fpOff+len(f.initial)]...)
	f.normalize(b)
	return b, nil
}

// write replaces the FPU state of th's current frame with b (from build),
// keeping the frame's own software-reserved bytes.
func (f *fpFormat) write(th *thread, b []byte) error {
	off, err := th.sl.frame(hdrCtx, ucSize)
	if err != nil {
		return err
	}
	fpOff, err := th.sl.fpFrame(off, uintptr(len(f.initial)))
	if err != nil {
		return err
	}
	dst := th.sl.mem[fpOff : fpOff+len(f.initial)]
	copy(dst[:fxSWBytes], b[:fxSWBytes])
	copy(dst[fxSize:], b[fxSize:])
	return nil
}

// build returns a full state from b (nil: the initial state), checking
// what the host would refuse: see istub.BuildFP.
func (f *fpFormat) build(b []byte) ([]byte, error) {
	return istub.BuildFP(f.initial, f.xsave, b)
}
