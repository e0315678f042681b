package seccomp

import (
	"encoding/binary"
	"math/rand"
	"testing"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// call is a synthetic struct seccomp_data.
type call struct {
	nr   uint32
	arch uint32
	args [6]uint64
}

// bytes encodes c for bpf.VM. The kernel loads the 32-bit words of
// seccomp_data in native (little-endian) order, the VM in big-endian
// order: each 32-bit word is stored big-endian here, with a 64-bit
// argument's low word first as in memory, so the VM sees what the
// kernel's loads see.
func (c call) bytes() []byte {
	b := make([]byte, 64)
	binary.BigEndian.PutUint32(b[offNr:], c.nr)
	binary.BigEndian.PutUint32(b[offArch:], c.arch)
	for i, a := range c.args {
		binary.BigEndian.PutUint32(b[offArgs+8*i:], uint32(a))
		binary.BigEndian.PutUint32(b[offArgs+8*i+4:], uint32(a>>32))
	}
	return b
}

func x86(nr uintptr, args ...uint64) call {
	c := call{nr: uint32(nr), arch: unix.AUDIT_ARCH_X86_64}
	copy(c.args[:], args)
	return c
}

// run runs prog on c and returns the action.
func run(t *testing.T, vm *bpf.VM, c call) Action {
	t.Helper()
	r, err := vm.Run(c.bytes())
	if err != nil {
		t.Fatalf("VM on %+v: %v", c, err)
	}
	return Action(uint32(r))
}

func newVM(t *testing.T, f Filter) *bpf.VM {
	t.Helper()
	prog, err := f.Compile()
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	if _, err := bpf.Assemble(prog); err != nil {
		t.Fatalf("Assemble: %v", err)
	}
	vm, err := bpf.NewVM(prog)
	if err != nil {
		t.Fatalf("NewVM: %v", err)
	}
	return vm
}

func TestDecisions(t *testing.T) {
	f := Filter{
		Allow: Rules{
			unix.SYS_READ:  nil,
			unix.SYS_WRITE: nil,
			unix.SYS_FCNTL: {{ArgEq(1, unix.F_GETFL)}, {ArgEq(1, unix.F_SETFL), ArgMaskedEq(2, unix.O_NONBLOCK, unix.O_NONBLOCK)}},
			unix.SYS_MMAP:  {{ArgMaskedEq(2, unix.PROT_EXEC, 0)}},
			unix.SYS_LSEEK: {{ArgEq(1, 0x1_0000_0005)}},
			unix.SYS_CLONE: {{ArgEq(0, glibcCloneFlags)}},
		},
		Deny:    map[uintptr]Action{unix.SYS_CLONE3: Errno(unix.ENOSYS), unix.SYS_CLONE: Trap},
		Default: Errno(unix.EPERM),
	}
	vm := newVM(t, f)
	eperm := Errno(unix.EPERM)
	for _, tc := range []struct {
		name string
		c    call
		want Action
	}{
		{"read", x86(unix.SYS_READ, 1, 2, 3), Allow},
		{"write", x86(unix.SYS_WRITE), Allow},
		{"unlisted", x86(unix.SYS_OPENAT), eperm},
		{"nr 0 neighbour", x86(unix.SYS_WRITE + 1000), eperm},
		{"fcntl getfl", x86(unix.SYS_FCNTL, 3, unix.F_GETFL), Allow},
		{"fcntl getfl upper bits", x86(unix.SYS_FCNTL, 3, 1<<32|unix.F_GETFL), eperm},
		{"fcntl setfl nonblock", x86(unix.SYS_FCNTL, 3, unix.F_SETFL, unix.O_NONBLOCK|unix.O_APPEND), Allow},
		{"fcntl setfl blocking", x86(unix.SYS_FCNTL, 3, unix.F_SETFL, unix.O_APPEND), eperm},
		{"fcntl setfd", x86(unix.SYS_FCNTL, 3, unix.F_SETFD), eperm},
		{"mmap rw", x86(unix.SYS_MMAP, 0, 4096, unix.PROT_READ|unix.PROT_WRITE), Allow},
		{"mmap exec", x86(unix.SYS_MMAP, 0, 4096, unix.PROT_READ|unix.PROT_EXEC), eperm},
		{"lseek 64-bit match", x86(unix.SYS_LSEEK, 3, 0x1_0000_0005), Allow},
		{"lseek low word only", x86(unix.SYS_LSEEK, 3, 5), eperm},
		{"lseek high word only", x86(unix.SYS_LSEEK, 3, 0x1_0000_0000), eperm},
		{"clone thread", x86(unix.SYS_CLONE, glibcCloneFlags), Allow},
		{"clone fork uses its deny action", x86(unix.SYS_CLONE, uint64(unix.SIGCHLD)), Trap},
		{"clone3 deny only", x86(unix.SYS_CLONE3), Errno(unix.ENOSYS)},
		{"i386 arch killed", call{nr: unix.SYS_READ, arch: unix.AUDIT_ARCH_I386}, KillProcess},
		{"x32 syscall", x86(maxNr | unix.SYS_READ), eperm},
		{"negative nr", x86(^uintptr(0)), eperm},
	} {
		if got := run(t, vm, tc.c); got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	for name, f := range map[string]Filter{
		"bad default":      {Default: Action(0x12340000)},
		"errno too large":  {Default: Errno(5000)},
		"kill with data":   {Default: KillProcess | 5},
		"arg index":        {Allow: Rules{1: {{ArgEq(6, 0)}}}, Default: KillProcess},
		"negative arg":     {Allow: Rules{1: {{ArgEq(-1, 0)}}}, Default: KillProcess},
		"value outside":    {Allow: Rules{1: {{ArgMaskedEq(0, 1, 3)}}}, Default: KillProcess},
		"x32 number":       {Allow: Rules{maxNr + 1: nil}, Default: KillProcess},
		"x32 deny":         {Deny: map[uintptr]Action{maxNr: Trap}, Default: KillProcess},
		"bad deny action":  {Deny: map[uintptr]Action{1: Action(0x00010000)}, Default: KillProcess},
		"too many conds":   {Allow: Rules{1: {make(Rule, maxConds+1)}}, Default: KillProcess},
		"program too long": {Allow: manyRules(1000), Default: KillProcess},
	} {
		if _, err := f.Compile(); err == nil {
			t.Errorf("%s: compiled", name)
		}
		if err := Install(f); err == nil {
			t.Errorf("%s: installed", name)
		}
	}
}

// manyRules allows n syscalls, each only with arg0 == 1 or arg0 == 2.
func manyRules(n int) Rules {
	r := Rules{}
	for nr := range n {
		r.Add(uintptr(nr), Rule{ArgEq(0, 1)}, Rule{ArgEq(0, 2)})
	}
	return r
}

func TestRulesAdd(t *testing.T) {
	r := Rules{}
	r.Add(1, Rule{ArgEq(0, 1)})
	r.Add(1, Rule{ArgEq(0, 2)})
	if len(r[1]) != 2 {
		t.Errorf("rules of 1: %v", r[1])
	}
	r.Add(1)
	if rs, ok := r[1]; !ok || len(rs) != 0 {
		t.Errorf("Add without rules: %v, %v; want any args", rs, ok)
	}
	r.Add(1, Rule{ArgEq(0, 3)})
	if len(r[1]) != 0 {
		t.Errorf("Add to an any-args syscall restricted it: %v", r[1])
	}
	other := Rules{2: nil, 3: {{ArgEq(1, 1)}}}
	r.Merge(other)
	if _, ok := r[2]; !ok || len(r[3]) != 1 {
		t.Errorf("Merge: %v", r)
	}
}

// eval is the reference semantics of a filter.
func (f *Filter) eval(c call) Action {
	switch {
	case c.arch != unix.AUDIT_ARCH_X86_64:
		return KillProcess
	case c.nr >= maxNr:
		return f.Default
	}
	rules, ok := f.Allow[uintptr(c.nr)]
	if ok && len(rules) == 0 {
		return Allow
	}
	for _, r := range rules {
		match := true
		for _, cd := range r {
			match = match && c.args[cd.Arg]&cd.Mask == cd.Value
		}
		if match {
			return Allow
		}
	}
	if a, ok := f.Deny[uintptr(c.nr)]; ok {
		return a
	}
	return f.Default
}

// TestRandom compares the compiled program with the reference semantics on
// random filters, some large enough to need long jumps.
func TestRandom(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	vals := []uint64{0, 1, 2, 0xffffffff, 1 << 32, 0x1_0000_0001, ^uint64(0)}
	longJumps := 0
	for iter := range 60 {
		f := Filter{Allow: Rules{}, Deny: map[uintptr]Action{}, Default: Errno(unix.Errno(1 + iter%100))}
		n := 1 + rng.Intn(40)
		if iter%10 == 0 {
			n = 300
		}
		for range n {
			nr := uintptr(rng.Intn(500))
			var rules []Rule
			for range rng.Intn(4) {
				var r Rule
				nconds := rng.Intn(4)
				if iter%15 == 0 {
					nconds = maxConds // long rule blocks
				}
				for range nconds {
					mask := vals[rng.Intn(len(vals))]
					r = append(r, Cond{Arg: rng.Intn(6), Mask: mask, Value: vals[rng.Intn(len(vals))] & mask})
				}
				rules = append(rules, r)
			}
			f.Allow[nr] = rules
			if rng.Intn(5) == 0 {
				f.Deny[uintptr(rng.Intn(500))] = Trap | Action(rng.Intn(10))
			}
		}
		prog, err := f.program() // the VM takes programs longer than the kernel's limit
		if err != nil {
			t.Fatalf("iteration %d: %v", iter, err)
		}
		vm, err := bpf.NewVM(prog)
		if err != nil {
			t.Fatalf("iteration %d: NewVM: %v", iter, err)
		}
		if _, err := bpf.Assemble(prog); err != nil {
			t.Fatalf("iteration %d: Assemble: %v", iter, err)
		}
		for _, in := range prog {
			if _, ok := in.(bpf.Jump); ok {
				longJumps++
			}
		}
		for range 400 {
			c := x86(uintptr(rng.Intn(520)))
			for i := range c.args {
				c.args[i] = vals[rng.Intn(len(vals))]
			}
			switch rng.Intn(20) {
			case 0:
				c.arch = unix.AUDIT_ARCH_I386
			case 1:
				c.nr |= maxNr
			}
			if got, want := run(t, vm, c), f.eval(c); got != want {
				t.Fatalf("iteration %d: %+v: got %v, want %v", iter, c, got, want)
			}
		}
	}
	if longJumps == 0 {
		t.Error("no program needed a long jump: the test covers less than it should")
	}
}

func TestGoRuntimeCompiles(t *testing.T) {
	f := Filter{Allow: GoRuntime(), Deny: map[uintptr]Action{unix.SYS_CLONE3: Errno(unix.ENOSYS)}, Default: KillProcess}
	prog, err := f.Compile()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d syscalls, %d instructions", len(f.Allow), len(prog))
	vm := newVM(t, f)
	pid := uint64(unix.Getpid())
	for _, tc := range []struct {
		c    call
		want Action
	}{
		{x86(unix.SYS_FUTEX), Allow},
		{x86(unix.SYS_CLONE, goCloneFlags), Allow},
		{x86(unix.SYS_CLONE, uint64(unix.SIGCHLD)), KillProcess},
		{x86(unix.SYS_CLONE3), Errno(unix.ENOSYS)},
		{x86(unix.SYS_TGKILL, pid, 7, uint64(unix.SIGURG)), Allow},
		{x86(unix.SYS_TGKILL, pid+1, 7, uint64(unix.SIGURG)), KillProcess},
		{x86(unix.SYS_MPROTECT, 0, 4096, unix.PROT_READ|unix.PROT_EXEC), KillProcess},
		{x86(unix.SYS_EXECVE), KillProcess},
	} {
		if got := run(t, vm, tc.c); got != tc.want {
			t.Errorf("%+v: got %v, want %v", tc.c, got, tc.want)
		}
	}
}

func TestActionString(t *testing.T) {
	for a, want := range map[Action]string{
		Allow: "allow", KillProcess: "kill-process", KillThread: "kill-thread", Log: "log",
		Trap | 3: "trap(3)", Errno(unix.EPERM): "errno(1)", Action(0x12340000): "action(0x12340000)",
	} {
		if got := a.String(); got != want {
			t.Errorf("%#x.String() = %q, want %q", uint32(a), got, want)
		}
	}
}
