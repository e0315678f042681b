package loader

import (
	"encoding/binary"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/mm"
)

// Stack geometry and argument limits.
const (
	defaultStack = 8 << 20    // the [stack] size without an RLIMIT_STACK
	minStack     = 128 << 10  // the smallest [stack] (and argument space, as Linux's ARG_MAX floor)
	maxStack     = 64 << 20   // the largest [stack]: it is backed when mapped
	maxArgString = 32 * 4096  // one string (MAX_ARG_STRLEN)
	platformName = "x86_64"   // AT_PLATFORM
	clockTicks   = 100        // AT_CLKTCK (USER_HZ)
	maxStackGap  = 256 * 4096 // random gap between the top of user memory and the stack
)

// auxEntry is one auxiliary vector entry.
type auxEntry struct{ key, val uint64 }

// stackArgs is what the initial stack describes.
type stackArgs struct {
	argv, envv []string
	execfn     string
	random     [16]byte
	aux        []auxEntry // without AT_RANDOM, AT_EXECFN, AT_PLATFORM, AT_NULL
	execStack  bool
	stackSize  uintptr // the [stack] mapping (from stackSize)
}

// stackSize returns the size of the [stack] mapping for a soft
// RLIMIT_STACK of limit bytes (0: the default), page aligned and clamped
// to [minStack, maxStack]: the stack does not grow on faults, so it is
// mapped at its full size up front.
func stackSize(limit uint64) uintptr {
	if limit == 0 {
		limit = defaultStack
	}
	limit = min(max(limit, minStack), maxStack)
	return uintptr(limit) &^ (linux.PageSize - 1)
}

// buildStack maps the [stack] VMA below the top of user memory and writes
// argc, argv, envp, auxv and the strings they point to, as Linux lays them
// out. It returns the initial rsp (16-byte aligned, pointing at argc).
func buildStack(m *mm.MemoryManager, maxUser uintptr, a *stackArgs) (uintptr, error) {
	total := len(a.execfn) + 1
	for _, s := range append(append([]string(nil), a.argv...), a.envv...) {
		if len(s)+1 > maxArgString {
			return 0, linux.E2BIG
		}
		total += len(s) + 1
	}
	size := a.stackSize
	if size == 0 {
		size = stackSize(0)
	}
	// Linux allows argv and envp strings a quarter of RLIMIT_STACK.
	if total > int(max(size/4, minStack)) {
		return 0, linux.E2BIG
	}
	gap := uintptr(binary.LittleEndian.Uint16(a.random[14:])) * linux.PageSize % maxStackGap
	top := maxUser - gap
	prot := linux.PROT_READ | linux.PROT_WRITE
	if a.execStack {
		prot |= linux.PROT_EXEC
	}
	if _, err := m.MMap(mm.MMapOpts{
		Addr: top - size, Length: size, Prot: prot, Private: true, Fixed: true,
		GrowsDown: true, Name: "[stack]",
	}); err != nil {
		return 0, err
	}

	// Strings, from the top down: an 8-byte end marker, the executable's
	// name, the environment, argv; then AT_PLATFORM and AT_RANDOM bytes.
	var b stackBuf
	b.top = top - 8
	execfn := b.pushString(a.execfn)
	envEnd := b.top
	envp := b.pushStrings(a.envv)
	argvEnd := b.top
	argvp := b.pushStrings(a.argv)
	argvStart := b.top
	platform := b.pushString(platformName)
	random := b.push(a.random[:])
	b.push(make([]byte, b.top%16)) // align to 16

	aux := append(a.aux,
		auxEntry{linux.AT_RANDOM, uint64(random)},
		auxEntry{linux.AT_EXECFN, uint64(execfn)},
		auxEntry{linux.AT_PLATFORM, uint64(platform)},
		auxEntry{linux.AT_NULL, 0})
	words := 1 + len(argvp) + 1 + len(envp) + 1 + 2*len(aux)
	sp := (b.top - uintptr(words)*8) &^ 15
	vec := make([]byte, 0, words*8)
	put := func(v uint64) { vec = binary.LittleEndian.AppendUint64(vec, v) }
	put(uint64(len(argvp)))
	for _, p := range argvp {
		put(uint64(p))
	}
	put(0)
	for _, p := range envp {
		put(uint64(p))
	}
	put(0)
	for _, e := range aux {
		put(e.key)
		put(e.val)
	}
	b.data = append(make([]byte, b.top-sp-uintptr(len(vec))), b.data...)
	b.data = append(vec, b.data...)
	if _, err := m.CopyOut(sp, b.data); err != nil {
		return 0, err
	}
	m.SetArgvEnv(argvStart, argvEnd, argvEnd, envEnd)
	return sp, nil
}

// stackBuf accumulates the bytes of the stack below top+8, growing down.
type stackBuf struct {
	top  uintptr
	data []byte // the bytes at [top, initial top)
}

// push puts p below the current top and returns its address.
func (b *stackBuf) push(p []byte) uintptr {
	b.top -= uintptr(len(p))
	b.data = append(append([]byte(nil), p...), b.data...)
	return b.top
}

func (b *stackBuf) pushString(s string) uintptr { return b.push(append([]byte(s), 0)) }

// pushStrings pushes ss so that they end up in order, and returns their
// addresses.
func (b *stackBuf) pushStrings(ss []string) []uintptr {
	var all []byte
	offs := make([]uintptr, len(ss))
	for i, s := range ss {
		offs[i] = uintptr(len(all))
		all = append(append(all, s...), 0)
	}
	base := b.push(all)
	for i := range offs {
		offs[i] += base
	}
	return offs
}
