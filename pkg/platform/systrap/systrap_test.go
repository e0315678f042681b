package systrap

import (
	"encoding/binary"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"bulwark.dev/pkg/platform"
)

const (
	codeAddr = 0x400000
	dataAddr = 0x401000
)

// testProg is hand-assembled x86-64 code loaded at codeAddr.
var testProg = []byte{
	0xb8, 39, 0, 0, 0, // 0x00 mov eax, 39
	0xbf, 11, 0, 0, 0, // 0x05 mov edi, 11
	0xbe, 22, 0, 0, 0, // 0x0a mov esi, 22
	0xba, 33, 0, 0, 0, // 0x0f mov edx, 33
	0x41, 0xba, 44, 0, 0, 0, // 0x14 mov r10d, 44
	0x41, 0xb8, 55, 0, 0, 0, // 0x1a mov r8d, 55
	0x41, 0xb9, 66, 0, 0, 0, // 0x20 mov r9d, 66
	0x0f, 0x05, // 0x26 syscall
	0x48, 0x89, 0xc7, // 0x28 mov rdi, rax
	0xb8, 60, 0, 0, 0, // 0x2b mov eax, 60
	0x0f, 0x05, // 0x30 syscall
	0x48, 0x89, 0x3c, 0x25, 0x00, 0x10, 0x40, 0x00, // 0x32 mov [0x401000], rdi
	0x48, 0x8b, 0x04, 0x25, 0x00, 0x00, 0x50, 0x00, // 0x3a mov rax, [0x500000]
	0xcc,       // 0x42 int3
	0xeb, 0xfe, // 0x43 jmp .
	0xb8, 39, 0, 0, 0, // 0x45 loop: mov eax, 39
	0x0f, 0x05, // 0x4a syscall
	0xeb, 0xf7, // 0x4c jmp loop
	0x64, 0x48, 0x8b, 0x04, 0x25, 0, 0, 0, 0, // 0x4e mov rax, fs:[0]
	0xcc,       // 0x57 int3
	0xff, 0xe0, // 0x58 jmp rax
}

const (
	ripStore = codeAddr + 0x32
	ripInt3  = codeAddr + 0x42
	ripSpin  = codeAddr + 0x43
	ripLoop  = codeAddr + 0x45
	ripFS    = codeAddr + 0x4e
	ripJump  = codeAddr + 0x58
)

// newTestPlatform returns a platform on a fresh memory file holding
// testProg at offset 0; offset 0x1000 is the data page.
func newTestPlatform(t testing.TB) (*Platform, int) {
	t.Helper()
	fd, err := unix.MemfdCreate("systrap-test", unix.MFD_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Ftruncate(fd, 1<<20); err != nil {
		t.Fatal(err)
	}
	if _, err := unix.Pwrite(fd, testProg, 0); err != nil {
		t.Fatal(err)
	}
	p, err := New(fd)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(p.Close)
	return p, fd
}

func newMappedAS(t testing.TB, p *Platform) platform.AddressSpace {
	t.Helper()
	as, err := p.NewAddressSpace()
	if err != nil {
		t.Fatalf("NewAddressSpace: %v", err)
	}
	t.Cleanup(as.Release)
	if err := as.MapFile(codeAddr, 0x1000, 0, platform.ProtRead|platform.ProtExec); err != nil {
		t.Fatalf("MapFile code: %v", err)
	}
	if err := as.MapFile(dataAddr, 0x1000, 0x1000, platform.ProtRead|platform.ProtWrite); err != nil {
		t.Fatalf("MapFile data: %v", err)
	}
	return as
}

func startRegs(rip uint64) platform.Registers {
	return platform.Registers{Rip: rip, Eflags: 0x202}
}

func mustSwitch(t *testing.T, c platform.Context, as platform.AddressSpace, r *platform.Registers) platform.Trap {
	t.Helper()
	trap, err := c.Switch(as, r)
	if err != nil {
		t.Fatalf("Switch: %v", err)
	}
	return trap
}

func TestStubAddressSpaceIsEmpty(t *testing.T) {
	p, _ := newTestPlatform(t)
	as, err := p.NewAddressSpace()
	if err != nil {
		t.Fatal(err)
	}
	defer as.Release()
	maps, err := os.ReadFile("/proc/" + itoa(as.(*addressSpace).s.pid) + "/maps")
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

func TestSyscallFaultSignal(t *testing.T) {
	p, fd := newTestPlatform(t)
	as := newMappedAS(t, p)
	c, _ := p.NewContext()
	defer c.Release()

	r := startRegs(codeAddr)
	trap := mustSwitch(t, c, as, &r)
	if trap.Kind != platform.TrapSyscall || r.Orig_rax != 39 {
		t.Fatalf("trap %+v nr %d, want syscall 39", trap, r.Orig_rax)
	}
	if got := [6]uint64{r.Rdi, r.Rsi, r.Rdx, r.R10, r.R8, r.R9}; got != [6]uint64{11, 22, 33, 44, 55, 66} {
		t.Errorf("args %v", got)
	}
	if r.Rip != codeAddr+0x28 {
		t.Errorf("rip %#x, want %#x", r.Rip, codeAddr+0x28)
	}

	r.Rax = 1234
	trap = mustSwitch(t, c, as, &r)
	if trap.Kind != platform.TrapSyscall || r.Orig_rax != 60 || r.Rdi != 1234 {
		t.Fatalf("trap %+v nr %d rdi %d, want syscall 60 with 1234", trap, r.Orig_rax, r.Rdi)
	}

	// The next instructions store rdi into the data page, then fault.
	trap = mustSwitch(t, c, as, &r)
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

	r.Rip = ripInt3
	trap = mustSwitch(t, c, as, &r)
	if trap.Kind != platform.TrapSignal || trap.Signo != int(unix.SIGTRAP) || r.Rip != ripInt3+1 {
		t.Fatalf("trap %+v rip %#x, want SIGTRAP after int3", trap, r.Rip)
	}

	// Write to a page made read-only.
	if err := as.Protect(dataAddr, 0x1000, platform.ProtRead); err != nil {
		t.Fatal(err)
	}
	r.Rip = ripStore
	trap = mustSwitch(t, c, as, &r)
	if trap.Kind != platform.TrapFault || trap.Addr != dataAddr || trap.Code != 2 /* SEGV_ACCERR */ {
		t.Fatalf("trap %+v, want SEGV_ACCERR at data page", trap)
	}

	// After Unmap the code page faults at rip.
	if err := as.Unmap(codeAddr, 0x1000); err != nil {
		t.Fatal(err)
	}
	r.Rip = codeAddr
	trap = mustSwitch(t, c, as, &r)
	if trap.Kind != platform.TrapFault || trap.Addr != codeAddr {
		t.Fatalf("trap %+v, want fault at unmapped code", trap)
	}
}

func TestInterrupt(t *testing.T) {
	p, _ := newTestPlatform(t)
	as := newMappedAS(t, p)
	c, _ := p.NewContext()

	r := startRegs(ripSpin)
	go func() {
		time.Sleep(50 * time.Millisecond)
		c.Interrupt()
	}()
	start := time.Now()
	trap := mustSwitch(t, c, as, &r)
	if trap.Kind != platform.TrapInterrupted {
		t.Fatalf("trap %+v, want interrupted", trap)
	}
	if r.Rip != ripSpin {
		t.Errorf("rip %#x after interrupt, want %#x", r.Rip, ripSpin)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("interrupt took %v", d)
	}

	// Interrupts before a Switch do not queue: one TrapInterrupted, then
	// the thread runs normally to its next syscall.
	c.Interrupt()
	c.Interrupt()
	r.Rip = ripLoop
	if trap := mustSwitch(t, c, as, &r); trap.Kind != platform.TrapInterrupted {
		t.Fatalf("trap %+v, want interrupted", trap)
	}
	if trap := mustSwitch(t, c, as, &r); trap.Kind != platform.TrapSyscall || r.Orig_rax != 39 {
		t.Fatalf("trap %+v, want syscall after pending interrupt", trap)
	}
}

func TestConcurrentAddressSpaces(t *testing.T) {
	p, _ := newTestPlatform(t)
	const n = 200
	var wg sync.WaitGroup
	errs := make(chan string, 2)
	for i := 0; i < 2; i++ {
		as := newMappedAS(t, p)
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, _ := p.NewContext()
			r := startRegs(ripLoop)
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

func TestReleaseAndDeadStub(t *testing.T) {
	p, _ := newTestPlatform(t)
	as := newMappedAS(t, p)
	pid := as.(*addressSpace).s.pid
	as.Release()
	if _, err := os.Stat("/proc/" + itoa(pid)); !os.IsNotExist(err) {
		t.Errorf("stub %d still exists after Release (stat: %v)", pid, err)
	}
	c, _ := p.NewContext()
	r := startRegs(codeAddr)
	if _, err := c.Switch(as, &r); err == nil {
		t.Error("Switch on a released address space succeeded")
	}

	// A stub killed behind the platform's back gives errors, not hangs.
	as2 := newMappedAS(t, p)
	unix.Kill(as2.(*addressSpace).s.pid, unix.SIGKILL)
	r = startRegs(ripSpin)
	if _, err := c.Switch(as2, &r); err == nil {
		t.Error("Switch on a killed stub succeeded")
	}
	if err := as2.MapFile(codeAddr, 0x1000, 0, platform.ProtRead); err == nil {
		t.Error("MapFile on a killed stub succeeded")
	}

	// Close kills the master too.
	master := p.master.pid
	p.Close()
	if _, err := os.Stat("/proc/" + itoa(master)); !os.IsNotExist(err) {
		t.Errorf("master stub %d still exists after Close", master)
	}
	if _, err := p.NewAddressSpace(); err == nil {
		t.Error("NewAddressSpace after Close succeeded")
	}
}

func TestMapFileErrors(t *testing.T) {
	p, _ := newTestPlatform(t)
	as, err := p.NewAddressSpace()
	if err != nil {
		t.Fatal(err)
	}
	defer as.Release()
	if err := as.MapFile(codeAddr+1, 0x1000, 0, platform.ProtRead); err == nil {
		t.Error("unaligned MapFile succeeded")
	}
	// The stub stays usable after a failed injection.
	if err := as.MapFile(codeAddr, 0x1000, 0, platform.ProtRead); err != nil {
		t.Errorf("MapFile after error: %v", err)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestCloseDuringSwitch(t *testing.T) {
	p, _ := newTestPlatform(t)
	as := newMappedAS(t, p)
	c, _ := p.NewContext()
	errc := make(chan error, 1)
	go func() {
		r := startRegs(ripSpin)
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
