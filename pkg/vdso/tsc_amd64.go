package vdso

// rdtsc reads the time-stamp counter after earlier loads complete, as the
// vDSO does (LFENCE; RDTSC).
func rdtsc() uint64

// cpuid executes the CPUID instruction.
func cpuid(leaf, sub uint32) (eax, ebx, ecx, edx uint32)

// invariantTSC reports whether the CPU's TSC runs at a constant rate in
// every power state (CPUID 0x80000007 EDX bit 8), which the vDSO needs to
// turn TSC ticks into nanoseconds.
func invariantTSC() bool {
	maxExt, _, _, _ := cpuid(0x80000000, 0)
	if maxExt < 0x80000007 {
		return false
	}
	_, _, _, edx := cpuid(0x80000007, 0)
	return edx&(1<<8) != 0
}
