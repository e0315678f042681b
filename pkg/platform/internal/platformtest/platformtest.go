// Package platformtest holds the tests every platform.Platform must pass,
// run by each platform's own test package with Run and Bench, and the
// test program and helpers they share with platform-specific tests.
package platformtest

import (
	"testing"

	"golang.org/x/sys/unix"

	"bulwark.dev/pkg/platform"
)

// Addresses where NewMappedAS maps the test program and its data page.
const (
	CodeAddr = 0x400000
	DataAddr = 0x401000
)

// Prog is hand-assembled x86-64 code loaded at CodeAddr; the memory file's
// second page is the data page.
var Prog = []byte{
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

// Entry points in Prog.
const (
	RIPStore = CodeAddr + 0x32 // store rdi in the data page, then fault
	RIPInt3  = CodeAddr + 0x42
	RIPSpin  = CodeAddr + 0x43 // loops without syscalls
	RIPLoop  = CodeAddr + 0x45 // getppid forever
	RIPFS    = CodeAddr + 0x4e // rax = fs:[0], then int3
	RIPJump  = CodeAddr + 0x58 // jmp rax
)

// Hooks are what the shared tests need from a platform.
type Hooks struct {
	// New starts the platform on the memory file memFD.
	New func(memFD int) (platform.Platform, error)
	// StubPID is the host pid of an address space's stub process.
	StubPID func(platform.AddressSpace) int
	// MasterPID is the host pid of the platform's master stub.
	MasterPID func(platform.Platform) int
	// ThreadTID is the host tid of the stub thread a context last ran in.
	ThreadTID func(platform.Context) int
}

// NewPlatform returns a platform on a fresh memory file holding Prog at
// offset 0; offset 0x1000 is the data page. Both are released by the
// test's cleanup.
func NewPlatform(t testing.TB, newFn func(memFD int) (platform.Platform, error)) (platform.Platform, int) {
	t.Helper()
	fd, err := unix.MemfdCreate("platform-test", unix.MFD_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Ftruncate(fd, 1<<20); err != nil {
		t.Fatal(err)
	}
	if _, err := unix.Pwrite(fd, Prog, 0); err != nil {
		t.Fatal(err)
	}
	p, err := newFn(fd)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(p.Close)
	return p, fd
}

// NewMappedAS returns an address space with Prog at CodeAddr and the data
// page at DataAddr, released by the test's cleanup.
func NewMappedAS(t testing.TB, p platform.Platform) platform.AddressSpace {
	t.Helper()
	as, err := p.NewAddressSpace()
	if err != nil {
		t.Fatalf("NewAddressSpace: %v", err)
	}
	t.Cleanup(as.Release)
	if err := as.MapFile(CodeAddr, 0x1000, 0, platform.ProtRead|platform.ProtExec); err != nil {
		t.Fatalf("MapFile code: %v", err)
	}
	if err := as.MapFile(DataAddr, 0x1000, 0x1000, platform.ProtRead|platform.ProtWrite); err != nil {
		t.Fatalf("MapFile data: %v", err)
	}
	return as
}

// StartRegs returns registers that start the program at rip.
func StartRegs(rip uint64) platform.Registers {
	return platform.Registers{Rip: rip, Eflags: 0x202}
}

// MustSwitch switches c into as and fails the test on an error.
func MustSwitch(t *testing.T, c platform.Context, as platform.AddressSpace, r *platform.Registers) platform.Trap {
	t.Helper()
	trap, err := c.Switch(as, r)
	if err != nil {
		t.Fatalf("Switch: %v", err)
	}
	return trap
}

// Run runs the shared tests as subtests of t.
func Run(t *testing.T, h Hooks) {
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, Hooks)
	}{
		{"StubAddressSpaceIsEmpty", testStubAddressSpaceIsEmpty},
		{"SyscallFaultSignal", testSyscallFaultSignal},
		{"FSBase", testFSBase},
		{"Interrupt", testInterrupt},
		{"ConcurrentAddressSpaces", testConcurrentAddressSpaces},
		{"ContextsShareAddressSpace", testContextsShareAddressSpace},
		{"FPStateIsPerContext", testFPStateIsPerContext},
		{"ReleaseAndDeadStub", testReleaseAndDeadStub},
		{"MapFileErrors", testMapFileErrors},
		{"CloseDuringSwitch", testCloseDuringSwitch},
		{"ThreadFollowsCPU", testThreadFollowsCPU},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, h) })
	}
}

// Bench measures one trapped application syscall: the program loops on
// getppid and every Switch returns its syscall trap.
func Bench(b *testing.B, h Hooks) {
	p, _ := NewPlatform(b, h.New)
	as := NewMappedAS(b, p)
	c, err := p.NewContext()
	if err != nil {
		b.Fatal(err)
	}
	defer c.Release()
	r := StartRegs(RIPLoop)
	if _, err := c.Switch(as, &r); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r.Rax = 1
		trap, err := c.Switch(as, &r)
		if err != nil || trap.Kind != platform.TrapSyscall {
			b.Fatalf("Switch: %v %v", trap, err)
		}
	}
}
