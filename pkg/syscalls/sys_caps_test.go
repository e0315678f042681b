package syscalls

import (
	"testing"
	"unsafe"

	"bulwark.dev/pkg/abi/linux"
)

func TestCapSyscallsRegistered(t *testing.T) {
	tab := Table()
	for _, nr := range []uintptr{linux.SYS_CAPGET, linux.SYS_CAPSET} {
		if sc, ok := tab[nr]; !ok || sc.Fn == nil {
			t.Errorf("%s not registered", linux.SyscallNames[nr])
		}
	}
	for _, op := range []uintptr{linux.PR_CAPBSET_READ, linux.PR_CAPBSET_DROP, linux.PR_CAP_AMBIENT,
		linux.PR_GET_SECUREBITS, linux.PR_SET_SECUREBITS, linux.PR_GET_KEEPCAPS, linux.PR_SET_KEEPCAPS} {
		if prctlFns[op] == nil {
			t.Errorf("prctl option %d not handled", op)
		}
	}
	if s := unsafe.Sizeof(linux.CapUserHeader{}); s != 8 {
		t.Errorf("cap header is %d bytes, want 8", s)
	}
	if s := unsafe.Sizeof([2]linux.CapUserData{}); s != 24 {
		t.Errorf("two cap data words are %d bytes, want 24", s)
	}
}
