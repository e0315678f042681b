package loader

import (
	"encoding/binary"
	"os"
	"strings"
	"testing"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/mm"
	"bulwark.dev/pkg/platform/ptrace"
)

// hostFile is a File on a host file.
type hostFile struct{ *os.File }

func (f hostFile) Close() { f.File.Close() }

// hostOpen opens host paths; a missing file is ENOENT.
func hostOpen(p string) (File, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, linux.ENOENT
	}
	return hostFile{f}, nil
}

type env struct {
	p  *ptrace.Platform
	mf *mm.MemoryFile
}

func newEnv(t *testing.T) *env {
	t.Helper()
	mf, err := mm.NewMemoryFile("loader-test", 4<<30)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(mf.Close)
	p, err := ptrace.New(mf.FD())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return &env{p, mf}
}

func (e *env) newMM(t *testing.T) *mm.MemoryManager {
	t.Helper()
	m, err := mm.New(e.p, e.mf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.DecUsers)
	return m
}

func needBusybox(t *testing.T) {
	if _, err := os.Stat("/bin/busybox"); err != nil {
		t.Skip("/bin/busybox not installed (apt-get install busybox-static)")
	}
}

func readU64(t *testing.T, m *mm.MemoryManager, addr uintptr) uint64 {
	t.Helper()
	var b [8]byte
	if _, err := m.CopyIn(addr, b[:]); err != nil {
		t.Fatalf("reading %#x: %v", addr, err)
	}
	return binary.LittleEndian.Uint64(b[:])
}

func readStr(t *testing.T, m *mm.MemoryManager, addr uint64) string {
	t.Helper()
	s, err := m.CopyInString(uintptr(addr), 4096)
	if err != nil {
		t.Fatalf("string at %#x: %v", addr, err)
	}
	return s
}

func TestStackLayout(t *testing.T) {
	needBusybox(t)
	e := newEnv(t)
	m := e.newMM(t)
	rnd := [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	res, err := Load(Args{Path: "/bin/busybox", Argv: []string{"busybox", "echo", "hi"}, Envv: []string{"A=1", "B=2"},
		Open: hostOpen, MM: m, Random: rnd, UID: 1000, EUID: 1001, GID: 1002, EGID: 1003})
	if err != nil {
		t.Fatal(err)
	}
	r := res.Regs
	if r.Rip != 0x40ebf0 || r.Rsp%16 != 0 || r.Cs != 0x33 || r.Ss != 0x2b || r.Eflags != 0x202 {
		t.Errorf("regs rip %#x rsp %#x cs %#x ss %#x flags %#x", r.Rip, r.Rsp, r.Cs, r.Ss, r.Eflags)
	}
	if res.ExecPath != "/bin/busybox" || res.Comm != "busybox" || m.Executable() != "/bin/busybox" {
		t.Errorf("ExecPath %q Comm %q", res.ExecPath, res.Comm)
	}
	sp := uintptr(r.Rsp)
	if argc := readU64(t, m, sp); argc != 3 {
		t.Fatalf("argc %d", argc)
	}
	var got []string
	for i := 0; i < 3; i++ {
		got = append(got, readStr(t, m, readU64(t, m, sp+8+uintptr(i)*8)))
	}
	if readU64(t, m, sp+32) != 0 {
		t.Error("argv not NULL-terminated")
	}
	got = append(got, readStr(t, m, readU64(t, m, sp+40)), readStr(t, m, readU64(t, m, sp+48)))
	if readU64(t, m, sp+56) != 0 {
		t.Error("envp not NULL-terminated")
	}
	if strings.Join(got, " ") != "busybox echo hi A=1 B=2" {
		t.Errorf("argv+envp %q", got)
	}
	aux := map[uint64]uint64{}
	for a := sp + 64; ; a += 16 {
		k, v := readU64(t, m, a), readU64(t, m, a+8)
		if k == linux.AT_NULL {
			break
		}
		aux[k] = v
	}
	want := map[uint64]uint64{
		linux.AT_PHDR: 0x400040, linux.AT_PHENT: 56, linux.AT_PHNUM: 10, linux.AT_PAGESZ: 4096,
		linux.AT_BASE: 0, linux.AT_FLAGS: 0, linux.AT_ENTRY: 0x40ebf0, linux.AT_UID: 1000,
		linux.AT_EUID: 1001, linux.AT_GID: 1002, linux.AT_EGID: 1003, linux.AT_SECURE: 0, linux.AT_CLKTCK: 100,
	}
	for k, v := range want {
		if aux[k] != v {
			t.Errorf("auxv[%d] = %#x, want %#x", k, aux[k], v)
		}
	}
	if aux[linux.AT_HWCAP]&1 == 0 { // FPU
		t.Errorf("AT_HWCAP %#x lacks the FPU bit", aux[linux.AT_HWCAP])
	}
	if s := readStr(t, m, aux[linux.AT_PLATFORM]); s != "x86_64" {
		t.Errorf("AT_PLATFORM %q", s)
	}
	if s := readStr(t, m, aux[linux.AT_EXECFN]); s != "/bin/busybox" {
		t.Errorf("AT_EXECFN %q", s)
	}
	var rb [16]byte
	m.CopyIn(uintptr(aux[linux.AT_RANDOM]), rb[:])
	if rb != rnd {
		t.Errorf("AT_RANDOM bytes %v", rb)
	}
	if c := string(m.Cmdline()); c != "busybox\x00echo\x00hi\x00" {
		t.Errorf("Cmdline %q", c)
	}
	if c := string(m.Environ()); c != "A=1\x00B=2\x00" {
		t.Errorf("Environ %q", c)
	}
	maps := m.Maps()
	for _, w := range []string{
		"00400000-00401000 r--p 00000000 00:00 0",
		"00401000-00585000 r-xp 00001000 00:00 0",
		"005db000-005e5000 rw-p 001da000 00:00 0",
		"[stack]",
	} {
		if !strings.Contains(maps, w) {
			t.Errorf("maps lacks %q:\n%s", w, maps)
		}
	}
	// bss: the file bytes past p_filesz in the last file page are zeroed.
	buf := make([]byte, 0x5e5000-0x5e4710)
	if _, err := m.CopyIn(0x5e4710, buf); err != nil {
		t.Fatal(err)
	}
	for i, b := range buf {
		if b != 0 {
			t.Fatalf("bss byte at %#x is %#x", 0x5e4710+i, b)
		}
	}
	if b := m.Brk(0); b != 0x5ec000 {
		t.Errorf("brk start %#x, want %#x", b, 0x5ec000)
	}
}
