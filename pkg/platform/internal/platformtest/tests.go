package platformtest

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"bulwark.dev/pkg/platform"
)

func testStubAddressSpaceIsEmpty(t *testing.T, h Hooks) {
	p, _ := NewPlatform(t, h.New)
	as, err := p.NewAddressSpace()
	if err != nil {
		t.Fatal(err)
	}
	defer as.Release()
	maps, err := os.ReadFile("/proc/" + itoa(h.StubPID(as)) + "/maps")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(maps)), "\n") {
		if strings.HasPrefix(line, "7fffff000000-7fffff001000 ") || strings.Contains(line, "[vsyscall]") {
			continue
		}
		t.Errorf("unexpected mapping in stub: %s", line)
	}
}

func testSyscallFaultSignal(t *testing.T, h Hooks) {
	p, fd := NewPlatform(t, h.New)
	as := NewMappedAS(t, p)
	c, _ := p.NewContext()
	defer c.Release()

	r := StartRegs(CodeAddr)
	trap := MustSwitch(t, c, as, &r)
	if trap.Kind != platform.TrapSyscall || r.Orig_rax != 39 {
		t.Fatalf("trap %+v nr %d, want syscall 39", trap, r.Orig_rax)
	}
	if got := [6]uint64{r.Rdi, r.Rsi, r.Rdx, r.R10, r.R8, r.R9}; got != [6]uint64{11, 22, 33, 44, 55, 66} {
		t.Errorf("args %v", got)
	}
	if r.Rip != CodeAddr+0x28 {
		t.Errorf("rip %#x, want %#x", r.Rip, CodeAddr+0x28)
	}

	r.Rax = 1234
	trap = MustSwitch(t, c, as, &r)
	if trap.Kind != platform.TrapSyscall || r.Orig_rax != 60 || r.Rdi != 1234 {
		t.Fatalf("trap %+v nr %d rdi %d, want syscall 60 with 1234", trap, r.Orig_rax, r.Rdi)
	}

	// The next instructions store rdi into the data page, then fault.
	trap = MustSwitch(t, c, as, &r)
	if trap.Kind != platform.TrapFault || trap.Signo != int(unix.SIGSEGV) || trap.Addr != 0x500000 ||
		trap.Code != 1 /* SEGV_MAPERR */ {
		t.Fatalf("trap %+v, want SIGSEGV fault at 0x500000", trap)
	}
	var buf [8]byte
	if _, err := unix.Pread(fd, buf[:], 0x1000); err != nil {
		t.Fatal(err)
	}
	if v := binary.LittleEndian.Uint64(buf[:]); v != 1234 {
		t.Errorf("data page holds %d, want 1234", v)
	}

	r.Rip = RIPInt3
	trap = MustSwitch(t, c, as, &r)
	if trap.Kind != platform.TrapSignal || trap.Signo != int(unix.SIGTRAP) || r.Rip != RIPInt3+1 {
		t.Fatalf("trap %+v rip %#x, want SIGTRAP after int3", trap, r.Rip)
	}

	// Write to a page made read-only.
	if err := as.Protect(DataAddr, 0x1000, platform.ProtRead); err != nil {
		t.Fatal(err)
	}
	r.Rip = RIPStore
	trap = MustSwitch(t, c, as, &r)
	if trap.Kind != platform.TrapFault || trap.Addr != DataAddr || trap.Code != 2 /* SEGV_ACCERR */ {
		t.Fatalf("trap %+v, want SEGV_ACCERR at data page", trap)
	}

	// After Unmap the code page faults at rip.
	if err := as.Unmap(CodeAddr, 0x1000); err != nil {
		t.Fatal(err)
	}
	r.Rip = CodeAddr
	trap = MustSwitch(t, c, as, &r)
	if trap.Kind != platform.TrapFault || trap.Addr != CodeAddr {
		t.Fatalf("trap %+v, want fault at unmapped code", trap)
	}
}

// TestFSBase checks that the kernel's fs_base reaches the thread: the
// program reads fs:[0].
func testFSBase(t *testing.T, h Hooks) {
	p, fd := NewPlatform(t, h.New)
	as := NewMappedAS(t, p)
	c, _ := p.NewContext()
	defer c.Release()
	for i, v := range []uint64{0x1122334455667788, 0x99} {
		off := 8 + 8*i // in the data page
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], v)
		if _, err := unix.Pwrite(fd, b[:], int64(0x1000+off)); err != nil {
			t.Fatal(err)
		}
		r := StartRegs(RIPFS)
		r.Fs_base = uint64(DataAddr + off)
		trap := MustSwitch(t, c, as, &r)
		if trap.Kind != platform.TrapSignal || r.Rax != v || r.Fs_base != uint64(DataAddr+off) {
			t.Fatalf("round %d: trap %+v rax %#x fs %#x, want int3 with %#x", i, trap, r.Rax, r.Fs_base, v)
		}
	}
}

func testInterrupt(t *testing.T, h Hooks) {
	p, _ := NewPlatform(t, h.New)
	as := NewMappedAS(t, p)
	c, _ := p.NewContext()

	r := StartRegs(RIPSpin)
	go func() {
		time.Sleep(50 * time.Millisecond)
		c.Interrupt()
	}()
	start := time.Now()
	trap := MustSwitch(t, c, as, &r)
	if trap.Kind != platform.TrapInterrupted {
		t.Fatalf("trap %+v, want interrupted", trap)
	}
	if r.Rip != RIPSpin {
		t.Errorf("rip %#x after interrupt, want %#x", r.Rip, RIPSpin)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("interrupt took %v", d)
	}

	// Interrupts before a Switch do not queue: one TrapInterrupted, then
	// the thread runs normally to its next syscall.
	c.Interrupt()
	c.Interrupt()
	r.Rip = RIPLoop
	if trap := MustSwitch(t, c, as, &r); trap.Kind != platform.TrapInterrupted {
		t.Fatalf("trap %+v, want interrupted", trap)
	}
	if trap := MustSwitch(t, c, as, &r); trap.Kind != platform.TrapSyscall || r.Orig_rax != 39 {
		t.Fatalf("trap %+v, want syscall after pending interrupt", trap)
	}
}

func testConcurrentAddressSpaces(t *testing.T, h Hooks) {
	p, _ := NewPlatform(t, h.New)
	const n = 200
	var wg sync.WaitGroup
	errs := make(chan string, 2)
	for i := 0; i < 2; i++ {
		as := NewMappedAS(t, p)
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, _ := p.NewContext()
			r := StartRegs(RIPLoop)
			for j := 0; j < n; j++ {
				trap, err := c.Switch(as, &r)
				if err != nil || trap.Kind != platform.TrapSyscall || r.Orig_rax != 39 {
					errs <- "bad trap in loop"
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// TestContextsShareAddressSpace runs two contexts in one address space at
// once: one spins in application code while the other makes syscalls, and
// MapFile does not wait for the spinning one.
func testContextsShareAddressSpace(t *testing.T, h Hooks) {
	p, _ := NewPlatform(t, h.New)
	as := NewMappedAS(t, p)
	spin, _ := p.NewContext()
	defer spin.Release()
	errc := make(chan error, 1)
	go func() {
		r := StartRegs(RIPSpin)
		trap, err := spin.Switch(as, &r)
		if err == nil && trap.Kind != platform.TrapInterrupted {
			t.Errorf("spinning context: trap %v", trap.Kind)
		}
		errc <- err
	}()
	time.Sleep(20 * time.Millisecond)

	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := as.MapFile(0x500000, 0x1000, 0x1000, platform.ProtRead); err != nil {
			t.Errorf("MapFile while another context runs: %v", err)
		}
		c, _ := p.NewContext()
		defer c.Release()
		r := StartRegs(RIPLoop)
		for i := 0; i < 3; i++ {
			if trap, err := c.Switch(as, &r); err != nil || trap.Kind != platform.TrapSyscall || r.Orig_rax != 39 {
				t.Errorf("syscall in second context: %v %v rax=%d", trap.Kind, err, r.Orig_rax)
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("MapFile or a second context waited for the spinning one")
	}
	spin.Interrupt()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

// TestFPStateIsPerContext sets different SSE registers in two contexts of
// one address space and checks each keeps its own across switches.
func testFPStateIsPerContext(t *testing.T, h Hooks) {
	p, _ := NewPlatform(t, h.New)
	as := NewMappedAS(t, p)
	const xmm0 = 160 // offset of xmm0 in the FXSAVE area
	var ctxs [2]platform.Context
	for i := range ctxs {
		c, err := p.NewContext()
		if err != nil {
			t.Fatal(err)
		}
		defer c.Release()
		ctxs[i] = c
		fc := c.(platform.FPContext)
		st, err := fc.FPState()
		if err != nil {
			t.Fatal(err)
		}
		if fcw, mxcsr := binary.LittleEndian.Uint16(st), binary.LittleEndian.Uint32(st[24:]); fcw != 0x37f || mxcsr != 0x1f80 {
			t.Errorf("initial FCW %#x MXCSR %#x, want 0x37f 0x1f80", fcw, mxcsr)
		}
		copy(st[xmm0:], bytes.Repeat([]byte{byte(0x11 * (i + 1))}, 16))
		if err := fc.SetFPState(st); err != nil {
			t.Fatal(err)
		}
	}
	for round := 0; round < 2; round++ {
		for i, c := range ctxs {
			r := StartRegs(RIPLoop)
			MustSwitch(t, c, as, &r)
			st, err := c.(platform.FPContext).FPState()
			if err != nil {
				t.Fatal(err)
			}
			if want := bytes.Repeat([]byte{byte(0x11 * (i + 1))}, 16); !bytes.Equal(st[xmm0:xmm0+16], want) {
				t.Errorf("context %d round %d: xmm0 = %x, want %x", i, round, st[xmm0:xmm0+16], want)
			}
		}
	}
	// A bad MXCSR is refused; nil resets.
	fc := ctxs[0].(platform.FPContext)
	st, _ := fc.FPState()
	st[24], st[25], st[26], st[27] = 0xff, 0xff, 0xff, 0xff
	if err := fc.SetFPState(st); err == nil {
		t.Error("SetFPState with reserved MXCSR bits succeeded")
	}
	if err := fc.SetFPState(nil); err != nil {
		t.Fatal(err)
	}
	r := StartRegs(RIPLoop)
	MustSwitch(t, ctxs[0], as, &r)
	st, _ = fc.FPState()
	if !bytes.Equal(st[xmm0:xmm0+16], make([]byte, 16)) {
		t.Errorf("xmm0 after reset = %x", st[xmm0:xmm0+16])
	}
}

func testReleaseAndDeadStub(t *testing.T, h Hooks) {
	p, _ := NewPlatform(t, h.New)
	as := NewMappedAS(t, p)
	pid := h.StubPID(as)
	as.Release()
	// The platform may reap the stub in the background.
	if err := waitGone(pid, 5*time.Second); err != nil {
		t.Errorf("stub %d still exists after Release: %v", pid, err)
	}
	c, _ := p.NewContext()
	r := StartRegs(CodeAddr)
	if _, err := c.Switch(as, &r); err == nil {
		t.Error("Switch on a released address space succeeded")
	}

	// A stub killed behind the platform's back gives errors, not hangs.
	as2 := NewMappedAS(t, p)
	unix.Kill(h.StubPID(as2), unix.SIGKILL)
	r = StartRegs(RIPSpin)
	if _, err := c.Switch(as2, &r); err == nil {
		t.Error("Switch on a killed stub succeeded")
	}
	if err := as2.MapFile(CodeAddr, 0x1000, 0, platform.ProtRead); err == nil {
		t.Error("MapFile on a killed stub succeeded")
	}

	// Close kills the master too.
	master := h.MasterPID(p)
	p.Close()
	if _, err := os.Stat("/proc/" + itoa(master)); !os.IsNotExist(err) {
		t.Errorf("master stub %d still exists after Close", master)
	}
	if _, err := p.NewAddressSpace(); err == nil {
		t.Error("NewAddressSpace after Close succeeded")
	}
}

func testMapFileErrors(t *testing.T, h Hooks) {
	p, _ := NewPlatform(t, h.New)
	as, err := p.NewAddressSpace()
	if err != nil {
		t.Fatal(err)
	}
	defer as.Release()
	if err := as.MapFile(CodeAddr+1, 0x1000, 0, platform.ProtRead); err == nil {
		t.Error("unaligned MapFile succeeded")
	}
	// The stub stays usable after a failed injection.
	if err := as.MapFile(CodeAddr, 0x1000, 0, platform.ProtRead); err != nil {
		t.Errorf("MapFile after error: %v", err)
	}
}

func testCloseDuringSwitch(t *testing.T, h Hooks) {
	p, _ := NewPlatform(t, h.New)
	as := NewMappedAS(t, p)
	c, _ := p.NewContext()
	errc := make(chan error, 1)
	go func() {
		r := StartRegs(RIPSpin)
		_, err := c.Switch(as, &r)
		errc <- err
	}()
	time.Sleep(50 * time.Millisecond)
	p.Close()
	select {
	case err := <-errc:
		if err == nil {
			t.Error("Switch in a killed stub returned no error")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Switch did not return after Close")
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

// waitGone polls until process pid no longer exists, or the timeout.
func waitGone(pid int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		_, err := os.Stat("/proc/" + itoa(pid))
		if os.IsNotExist(err) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("still there after %v (stat: %v)", timeout, err)
		}
		time.Sleep(time.Millisecond)
	}
}
