//go:build !amd64

package proc

// cpuid reports nothing on architectures without the instruction.
func cpuid(leaf, sub uint32) (eax, ebx, ecx, edx uint32) { return 0, 0, 0, 0 }
