package loader

// cpuid executes the CPUID instruction.
func cpuid(leaf, sub uint32) (eax, ebx, ecx, edx uint32)

// hwcap is AT_HWCAP on x86-64: the edx feature bits of CPUID leaf 1.
func hwcap() uint64 {
	_, _, _, edx := cpuid(1, 0)
	return uint64(edx)
}
