package systrap

import (
	"encoding/binary"
	"testing"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// TestThreadFilter runs the context threads' filter on seccomp_data
// records in the BPF interpreter.
func TestThreadFilter(t *testing.T) {
	const trapAddr = stubAddr + 0x800
	prog, err := threadFilterProg(trapAddr)
	if err != nil {
		t.Fatal(err)
	}
	vm, err := bpf.NewVM(prog)
	if err != nil {
		t.Fatal(err)
	}
	// The interpreter loads words big-endian, the kernel natively: store
	// each 32-bit word big-endian, 64-bit values low word first.
	data := func(arch uint32, nr int, ip uint64, args ...uint64) []byte {
		b := make([]byte, 64)
		be := binary.BigEndian
		put64 := func(off int, v uint64) {
			be.PutUint32(b[off:], uint32(v))
			be.PutUint32(b[off+4:], uint32(v>>32))
		}
		be.PutUint32(b[0:], uint32(nr))
		be.PutUint32(b[4:], arch)
		put64(8, ip)
		for i, a := range args {
			put64(16+8*i, a)
		}
		return b
	}
	const x86 = unix.AUDIT_ARCH_X86_64
	stub := uint64(stubAddr + 0x100)
	for _, tc := range []struct {
		name string
		in   []byte
		want uint32
	}{
		{"app syscall", data(x86, unix.SYS_GETPID, 0x400002), unix.SECCOMP_RET_TRAP},
		{"app futex", data(x86, unix.SYS_FUTEX, 0x400002, 0, futexWake), unix.SECCOMP_RET_TRAP},
		{"near the stub", data(x86, unix.SYS_FUTEX, stubAddr-2, 0, futexWake), unix.SECCOMP_RET_TRAP},
		{"trap trampoline", data(x86, unix.SYS_GETPID, trapAddr+2), unix.SECCOMP_RET_TRAP},
		{"same low half", data(x86, unix.SYS_FUTEX, 0x3fffff000100, 0, futexWake), unix.SECCOMP_RET_TRAP},
		{"i386", data(unix.AUDIT_ARCH_I386, 1, 0x400002), unix.SECCOMP_RET_KILL_PROCESS},
		{"handler futex wake", data(x86, unix.SYS_FUTEX, stub, 0, futexWake), unix.SECCOMP_RET_ALLOW},
		{"handler futex wait", data(x86, unix.SYS_FUTEX, stub, 0, futexWait), unix.SECCOMP_RET_ALLOW},
		{"other futex op", data(x86, unix.SYS_FUTEX, stub, 0, 6 /* FUTEX_LOCK_PI */), unix.SECCOMP_RET_KILL_PROCESS},
		{"set fs", data(x86, unix.SYS_ARCH_PRCTL, stub, archSetFS), unix.SECCOMP_RET_ALLOW},
		{"map vdso", data(x86, unix.SYS_ARCH_PRCTL, stub, 0x2003), unix.SECCOMP_RET_KILL_PROCESS},
		{"sigreturn", data(x86, unix.SYS_RT_SIGRETURN, stub), unix.SECCOMP_RET_ALLOW},
		{"exit", data(x86, unix.SYS_EXIT, stub), unix.SECCOMP_RET_ALLOW},
		{"pin itself", data(x86, unix.SYS_SCHED_SETAFFINITY, stub, 0, 8), unix.SECCOMP_RET_ALLOW},
		{"pin another", data(x86, unix.SYS_SCHED_SETAFFINITY, stub, 1234, 8), unix.SECCOMP_RET_KILL_PROCESS},
		{"app pins itself", data(x86, unix.SYS_SCHED_SETAFFINITY, 0x400002, 0, 8), unix.SECCOMP_RET_TRAP},
		{"mmap from the stub", data(x86, unix.SYS_MMAP, stub), unix.SECCOMP_RET_KILL_PROCESS},
		{"execve from the stub", data(x86, unix.SYS_EXECVE, stub), unix.SECCOMP_RET_KILL_PROCESS},
	} {
		got, err := vm.Run(tc.in)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if uint32(got) != tc.want {
			t.Errorf("%s: action %#x, want %#x", tc.name, uint32(got), tc.want)
		}
	}
}
