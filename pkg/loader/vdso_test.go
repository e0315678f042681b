package loader

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
	"time"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/platform"
	"bulwark.dev/pkg/vdso"
)

// TestVDSO loads busybox with the vDSO: AT_SYSINFO_EHDR points at the
// [vdso] image, [vvar] sits just below it and above the stack, static
// glibc accepts the image at startup, and `date +%s` reads the time
// without a clock system call.
func TestVDSO(t *testing.T) {
	needBusybox(t)
	e := newEnv(t)
	v, err := vdso.New(e.mf, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Stop)
	m := e.newMM(t)
	res, err := Load(Args{Path: "/bin/busybox", Argv: []string{"date", "+%s"}, Open: hostOpen, MM: m, VDSO: v})
	if err != nil {
		t.Fatal(err)
	}
	var ehdr uint64
	sp := uintptr(res.Regs.Rsp)
	a := sp + 8*uintptr(readU64(t, m, sp)+2) // past argc, argv and its NULL
	for readU64(t, m, a) != 0 {              // envp
		a += 8
	}
	for a += 8; ; a += 16 {
		k := readU64(t, m, a)
		if k == linux.AT_NULL {
			break
		}
		if k == linux.AT_SYSINFO_EHDR {
			ehdr = readU64(t, m, a+8)
		}
	}
	maps := m.Maps()
	var vvarStart, vdsoStart, stackEnd uint64
	for _, line := range strings.Split(maps, "\n") {
		var s, en uint64
		parseRange(line, &s, &en)
		switch {
		case strings.HasSuffix(line, " [vvar]"):
			vvarStart = s
		case strings.HasSuffix(line, " [vdso]"):
			vdsoStart = s
			if !strings.Contains(line, " r-xp ") {
				t.Errorf("[vdso] is not private read+exec: %q", line)
			}
		case strings.HasSuffix(line, " [stack]"):
			stackEnd = en
		}
	}
	if ehdr == 0 || ehdr != vdsoStart || vvarStart != vdsoStart-linux.PageSize || stackEnd > vvarStart {
		t.Fatalf("AT_SYSINFO_EHDR %#x, want the [vdso] start after [vvar] above [stack]:\n%s", ehdr, maps)
	}
	img := make([]byte, len(vdso.Image()))
	if _, err := m.CopyIn(uintptr(ehdr), img); err != nil || !bytes.Equal(img, vdso.Image()) {
		t.Errorf("the image is not mapped at AT_SYSINFO_EHDR (%v)", err)
	}

	c, err := e.p.NewContext()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Release()
	k := &miniKernel{t: t, m: m}
	regs := res.Regs
	clockCalls := 0
	for done := false; !done; {
		trap, err := c.Switch(m.AddressSpace(), &regs)
		if err != nil || trap.Kind != platform.TrapSyscall {
			t.Fatalf("trap %+v, %v at rip %#x\nmaps:\n%s", trap, err, regs.Rip, maps)
		}
		switch regs.Orig_rax {
		case linux.SYS_CLOCK_GETTIME, linux.SYS_GETTIMEOFDAY, linux.SYS_TIME:
			clockCalls++
			t.Logf("clock system call %d(%#x, %#x) at rip %#x", regs.Orig_rax, regs.Rdi, regs.Rsi, regs.Rip)
		}
		if regs.Orig_rax == linux.SYS_GETRANDOM {
			// Without it, malloc seeds itself from clock_gettime
			// before glibc has looked the vDSO up.
			n, _ := m.CopyOut(uintptr(regs.Rdi), make([]byte, regs.Rsi))
			regs.Rax = uint64(n)
			continue
		}
		done, _ = k.syscall(&regs)
	}
	got, err := strconv.ParseInt(strings.TrimSpace(k.out.String()), 10, 64)
	if err != nil || got < time.Now().Unix()-2 || got > time.Now().Unix() {
		t.Errorf("date +%%s printed %q, want about %d", k.out.String(), time.Now().Unix())
	}
	if clockCalls != 0 {
		t.Errorf("date made %d clock system calls, want 0 (served by the vDSO)", clockCalls)
	}
}
