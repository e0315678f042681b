package loader

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/mm"
	"bulwark.dev/pkg/platform"
)

// miniKernel serves just enough system calls to run busybox applets that
// only print: memory, TLS, write and exit. Everything else is ENOSYS.
type miniKernel struct {
	t   *testing.T
	m   *mm.MemoryManager
	out bytes.Buffer
}

const archSetFS = 0x1002

// syscall serves one call; it returns done with the exit code at exit.
func (k *miniKernel) syscall(r *platform.Registers) (done bool, code int) {
	a := [6]uintptr{uintptr(r.Rdi), uintptr(r.Rsi), uintptr(r.Rdx), uintptr(r.R10), uintptr(r.R8), uintptr(r.R9)}
	ret, err := uintptr(0), error(nil)
	switch r.Orig_rax {
	case linux.SYS_EXIT, linux.SYS_EXIT_GROUP:
		return true, int(a[0])
	case linux.SYS_ARCH_PRCTL:
		if a[0] != archSetFS {
			err = linux.EINVAL
			break
		}
		r.Fs_base = uint64(a[1])
	case linux.SYS_SET_TID_ADDRESS:
		ret = 1
	case linux.SYS_BRK:
		ret = k.m.Brk(a[0])
	case linux.SYS_MMAP:
		if a[3]&linux.MAP_ANONYMOUS == 0 {
			err = linux.ENODEV
			break
		}
		ret, err = k.m.MMap(mm.MMapOpts{Addr: a[0], Length: a[1], Prot: int(a[2]),
			Private: a[3]&linux.MAP_PRIVATE != 0, Fixed: a[3]&linux.MAP_FIXED != 0})
	case linux.SYS_MUNMAP:
		err = k.m.Munmap(a[0], a[1])
	case linux.SYS_MPROTECT:
		err = k.m.Mprotect(a[0], a[1], int(a[2]))
	case linux.SYS_WRITE:
		ret, err = k.write(a[0], a[1], a[2])
	case linux.SYS_WRITEV:
		for i := uintptr(0); i < a[2]; i++ {
			var iov [16]byte
			if _, err = k.m.CopyIn(a[1]+16*i, iov[:]); err != nil {
				break
			}
			n, werr := k.write(a[0], uintptr(binary.LittleEndian.Uint64(iov[:])), uintptr(binary.LittleEndian.Uint64(iov[8:])))
			ret, err = ret+n, werr
			if err != nil {
				break
			}
		}
	default:
		err = linux.ENOSYS
	}
	if err != nil {
		var e linux.Errno
		if !errors.As(err, &e) {
			k.t.Fatalf("syscall %d: %v", r.Orig_rax, err)
		}
		ret = -uintptr(e)
	}
	r.Rax = uint64(ret)
	return false, 0
}

func (k *miniKernel) write(fd, addr, n uintptr) (uintptr, error) {
	if fd != 1 && fd != 2 {
		return 0, linux.EBADF
	}
	buf := make([]byte, n)
	got, err := k.m.CopyIn(addr, buf)
	k.out.Write(buf[:got])
	return uintptr(got), err
}

// run loads and runs a program to its exit and returns its output.
func run(t *testing.T, e *env, path string, argv ...string) (string, int) {
	t.Helper()
	m := e.newMM(t)
	res, err := Load(Args{Path: path, Argv: argv, Envv: []string{"PATH=/bin"}, Open: hostOpen, MM: m})
	if err != nil {
		t.Fatalf("Load(%s): %v", path, err)
	}
	c, err := e.p.NewContext()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Release()
	k := &miniKernel{t: t, m: m}
	regs := res.Regs
	for i := 0; i < 10000; i++ {
		trap, err := c.Switch(m.AddressSpace(), &regs)
		if err != nil {
			t.Fatalf("Switch: %v", err)
		}
		if trap.Kind != platform.TrapSyscall {
			t.Fatalf("unexpected trap %+v at rip %#x\nmaps:\n%s", trap, regs.Rip, m.Maps())
		}
		if done, code := k.syscall(&regs); done {
			return k.out.String(), code
		}
	}
	t.Fatal("program did not exit")
	return "", 0
}

func TestBusyboxEcho(t *testing.T) {
	needBusybox(t)
	e := newEnv(t)
	out, code := run(t, e, "/bin/busybox", "busybox", "echo", "hello")
	if out != "hello\n" || code != 0 {
		t.Errorf("busybox echo hello: output %q, exit %d", out, code)
	}
	out, code = run(t, e, "/bin/busybox", "false")
	if out != "" || code != 1 {
		t.Errorf("busybox false: output %q, exit %d", out, code)
	}
}

func TestScript(t *testing.T) {
	needBusybox(t)
	dir := t.TempDir()
	script := filepath.Join(dir, "s.sh")
	os.WriteFile(script, []byte("#! /bin/busybox   echo  \nignored\n"), 0o755)
	e := newEnv(t)
	m := e.newMM(t)
	res, err := Load(Args{Path: script, Argv: []string{"s.sh", "world"}, Open: hostOpen, MM: m})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"/bin/busybox", "echo", script, "world"}; strings.Join(res.Argv, "|") != strings.Join(want, "|") {
		t.Errorf("argv %q, want %q", res.Argv, want)
	}
	if res.ExecPath != script || res.Comm != "s.sh" {
		t.Errorf("ExecPath %q Comm %q", res.ExecPath, res.Comm)
	}
	out, code := run(t, e, script, "s.sh", "world")
	if out != script+" world\n" || code != 0 {
		t.Errorf("script output %q, exit %d", out, code)
	}

	// Scripts interpreting scripts: four levels work, five are ELOOP.
	prev := "/bin/busybox echo"
	for i := 1; i <= 5; i++ {
		p := filepath.Join(dir, "l"+string(rune('0'+i)))
		os.WriteFile(p, []byte("#!"+prev+"\n"), 0o755)
		prev = p
		_, err := Load(Args{Path: p, Argv: []string{p}, Open: hostOpen, MM: e.newMM(t)})
		if i <= 4 && err != nil {
			t.Errorf("%d levels: %v", i, err)
		}
		if i == 5 && !errors.Is(err, linux.ELOOP) {
			t.Errorf("5 levels: %v, want ELOOP", err)
		}
	}
}

func TestParseShebang(t *testing.T) {
	for _, c := range []struct{ in, interp, arg string }{
		{"#!/bin/sh\n", "/bin/sh", ""},
		{"#!/bin/sh -e\n", "/bin/sh", "-e"},
		{"#! /usr/bin/env  python3 -u \r\n", "/usr/bin/env", "python3 -u"},
		{"#!/bin/sh", "", ""},             // truncated without a blank: ENOEXEC
		{"#!/bin/sh -x", "/bin/sh", "-x"}, // no newline but the name ends
		{"#!\n", "", ""},
		{"#!   \t\n", "", ""},
	} {
		interp, arg, err := parseShebang([]byte(c.in))
		if c.interp == "" {
			if !errors.Is(err, linux.ENOEXEC) {
				t.Errorf("%q: %q %q %v, want ENOEXEC", c.in, interp, arg, err)
			}
			continue
		}
		if err != nil || interp != c.interp || arg != c.arg {
			t.Errorf("%q: %q %q %v, want %q %q", c.in, interp, arg, err, c.interp, c.arg)
		}
	}
}

func TestBadExecutables(t *testing.T) {
	needBusybox(t)
	dir := t.TempDir()
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Fatal(err)
	}
	arm := append([]byte(nil), bb...)
	binary.LittleEndian.PutUint16(arm[18:], 183) // EM_AARCH64
	files := map[string][]byte{
		"text":  []byte("hello world\n"),
		"empty": nil,
		"arm":   arm,
		"short": bb[:40],
		"nophdr": func() []byte {
			b := append([]byte(nil), bb[:64]...)
			binary.LittleEndian.PutUint64(b[32:], 1<<20) // e_phoff past EOF
			return b
		}(),
	}
	e := newEnv(t)
	for name, data := range files {
		p := filepath.Join(dir, name)
		os.WriteFile(p, data, 0o755)
		_, err := Load(Args{Path: p, Argv: []string{name}, Open: hostOpen, MM: e.newMM(t)})
		if !errors.Is(err, linux.ENOEXEC) {
			t.Errorf("%s: %v, want ENOEXEC", name, err)
		}
	}
	_, err = Load(Args{Path: filepath.Join(dir, "missing"), Open: hostOpen, MM: e.newMM(t)})
	if !errors.Is(err, linux.ENOENT) {
		t.Errorf("missing: %v, want ENOENT", err)
	}
	os.WriteFile(filepath.Join(dir, "badinterp"), []byte("#!/nonexistent/sh\n"), 0o755)
	_, err = Load(Args{Path: filepath.Join(dir, "badinterp"), Open: hostOpen, MM: e.newMM(t)})
	if !errors.Is(err, linux.ENOENT) {
		t.Errorf("missing interpreter: %v, want ENOENT", err)
	}
}

func TestDynamicLayout(t *testing.T) {
	const exe, ld = "/bin/true", "/lib64/ld-linux-x86-64.so.2"
	if _, err := os.Stat(ld); err != nil {
		t.Skip("no dynamic loader on the host")
	}
	e := newEnv(t)
	m := e.newMM(t)
	res, err := Load(Args{Path: exe, Argv: []string{"true"}, Open: hostOpen, MM: m})
	if err != nil {
		t.Fatal(err)
	}
	maps := m.Maps()
	if !strings.HasPrefix(maps, "555555554000-") || !strings.Contains(maps, " /bin/true\n") {
		t.Errorf("PIE not at the ET_DYN base:\n%s", maps)
	}
	// rip is the interpreter's entry inside its mapping; AT_BASE is its base.
	var ldStart, ldEnd uint64
	for _, line := range strings.Split(maps, "\n") {
		if strings.HasSuffix(line, " "+ld) {
			var s, en uint64
			parseRange(line, &s, &en)
			if ldStart == 0 {
				ldStart = s
			}
			ldEnd = en
		}
	}
	if ldStart == 0 || res.Regs.Rip < ldStart || res.Regs.Rip >= ldEnd {
		t.Errorf("rip %#x not in the interpreter [%#x, %#x):\n%s", res.Regs.Rip, ldStart, ldEnd, maps)
	}
	sp := uintptr(res.Regs.Rsp)
	for a := sp + 8*4; ; a += 16 { // argc, argv[0], NULL, NULL envp
		k := readU64(t, m, a)
		if k == linux.AT_NULL {
			t.Fatal("no AT_BASE")
		}
		if k == linux.AT_BASE {
			if v := readU64(t, m, a+8); v != ldStart {
				t.Errorf("AT_BASE %#x, want %#x", v, ldStart)
			}
			break
		}
	}
}

func parseRange(line string, s, e *uint64) { fmt.Sscanf(line, "%x-%x", s, e) }

// TestForkedAddressSpaceRuns forks a loaded address space and runs the
// program in both copies: the child's stub has every mapping.
func TestForkedAddressSpaceRuns(t *testing.T) {
	needBusybox(t)
	e := newEnv(t)
	m := e.newMM(t)
	res, err := Load(Args{Path: "/bin/busybox", Argv: []string{"echo", "twice"}, Open: hostOpen, MM: m})
	if err != nil {
		t.Fatal(err)
	}
	child, err := m.Fork()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(child.DecUsers)
	for _, mm := range []*mm.MemoryManager{child, m} {
		c, _ := e.p.NewContext()
		k := &miniKernel{t: t, m: mm}
		regs := res.Regs
		for done := false; !done; {
			trap, err := c.Switch(mm.AddressSpace(), &regs)
			if err == nil && trap.Kind == platform.TrapFault {
				// Forked private pages are copy-on-write, as in the kernel's run loop.
				if ok, _ := mm.HandleFault(trap.Addr, true); ok {
					continue
				}
			}
			if err != nil || trap.Kind != platform.TrapSyscall {
				t.Fatalf("trap %+v, %v", trap, err)
			}
			done, _ = k.syscall(&regs)
		}
		if k.out.String() != "twice\n" {
			t.Errorf("output %q", k.out.String())
		}
	}
}
