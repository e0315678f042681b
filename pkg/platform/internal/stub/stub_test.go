package stub

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

func TestAsmEncodings(t *testing.T) {
	var a Asm
	a.MovEAX(60)
	a.XorEDI()
	a.Syscall()
	a.Int3()
	want := []byte{0xb8, 60, 0, 0, 0, 0x31, 0xff, 0x0f, 0x05, 0xcc}
	if !bytes.Equal(a.B, want) {
		t.Fatalf("code = % x, want % x", a.B, want)
	}
	loop := a.PC()
	a.Syscall()
	a.JmpBack8(loop)
	if got := a.B[len(a.B)-2:]; got[0] != 0xeb || int8(got[1]) != -4 {
		t.Fatalf("jmp back = % x, want eb fc", got)
	}
}

func TestWriteELFHeaders(t *testing.T) {
	b := make([]byte, 0x200)
	WriteELFHeaders(b, uint64(len(b)))
	le := binary.LittleEndian
	if !bytes.Equal(b[:4], []byte{0x7f, 'E', 'L', 'F'}) {
		t.Fatalf("bad magic % x", b[:4])
	}
	if got := le.Uint64(b[24:]); got != Addr+CodeOffset {
		t.Errorf("e_entry = %#x, want %#x", got, Addr+CodeOffset)
	}
	p := b[ELFHeaderSize:]
	if le.Uint32(p) != 1 || le.Uint64(p[16:]) != Addr || le.Uint64(p[32:]) != 0x200 {
		t.Errorf("bad PT_LOAD header % x", p[:ProgHdrSize])
	}
}

func TestBuildFP(t *testing.T) {
	initial := make([]byte, XsHeaderEnd)
	le := binary.LittleEndian
	le.PutUint32(initial[FxMXCSR:], 0x1f80)
	le.PutUint32(initial[FxMXCSRMask:], 0xffff)
	le.PutUint64(initial[FxSWBytes+8:], 7) // xfeatures: x87, SSE, AVX
	got, err := BuildFP(initial, true, nil)
	if err != nil || !bytes.Equal(got, initial) {
		t.Fatalf("BuildFP(nil) = %v, %v; want the initial state", got, err)
	}
	if _, err := BuildFP(initial, true, make([]byte, FxSize-1)); err == nil {
		t.Error("short state accepted")
	}
	bad := append([]byte(nil), initial...)
	le.PutUint32(bad[FxMXCSR:], 1<<20)
	if _, err := BuildFP(initial, true, bad); err == nil {
		t.Error("reserved MXCSR bits accepted")
	}
	bad = append([]byte(nil), initial...)
	le.PutUint64(bad[FxSize:], 1<<9)
	if _, err := BuildFP(initial, true, bad); err == nil {
		t.Error("unsupported XSAVE feature accepted")
	}
	ok := append([]byte(nil), initial...)
	ok[FxSWBytes] = 0xaa // host-reserved: must come from initial
	got, err = BuildFP(initial, true, ok)
	if err != nil {
		t.Fatal(err)
	}
	if got[FxSWBytes] != 0 || le.Uint64(got[FxSize:])&3 != 3 {
		t.Errorf("sw bytes %#x, xstate_bv %#x", got[FxSWBytes], le.Uint64(got[FxSize:]))
	}
}

func TestTracer(t *testing.T) {
	gone := errors.New("gone")
	if _, err := StartTracer(func() error { return gone }, gone); err != gone {
		t.Fatalf("failing init: err = %v", err)
	}
	tr, err := StartTracer(func() error { return nil }, gone)
	if err != nil {
		t.Fatal(err)
	}
	ran := false
	if err := tr.Do(func() { ran = true }); err != nil || !ran {
		t.Fatalf("Do: err %v, ran %v", err, ran)
	}
	tr.Stop()
	tr.Stop()
	if err := tr.Do(func() { t.Error("ran after Stop") }); err != gone {
		t.Fatalf("Do after Stop = %v, want %v", err, gone)
	}
}
