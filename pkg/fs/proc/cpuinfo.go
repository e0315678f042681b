package proc

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"sync"
)

// /proc/cpuinfo is synthesized from CPUID, which reads the host CPU
// without a system call: one entry per CPU of the sandbox.

// cpuFlag is one feature flag: CPUID leaf (and subleaf), register index
// (0 eax .. 3 edx), bit, and Linux's name for it.
type cpuFlag struct {
	leaf, sub uint32
	reg, bit  uint
	name      string
}

// cpuFlags are listed in the order Linux prints them.
var cpuFlags = []cpuFlag{
	{1, 0, 3, 0, "fpu"}, {1, 0, 3, 1, "vme"}, {1, 0, 3, 2, "de"}, {1, 0, 3, 3, "pse"},
	{1, 0, 3, 4, "tsc"}, {1, 0, 3, 5, "msr"}, {1, 0, 3, 6, "pae"}, {1, 0, 3, 7, "mce"},
	{1, 0, 3, 8, "cx8"}, {1, 0, 3, 9, "apic"}, {1, 0, 3, 11, "sep"}, {1, 0, 3, 12, "mtrr"},
	{1, 0, 3, 13, "pge"}, {1, 0, 3, 14, "mca"}, {1, 0, 3, 15, "cmov"}, {1, 0, 3, 16, "pat"},
	{1, 0, 3, 17, "pse36"}, {1, 0, 3, 19, "clflush"}, {1, 0, 3, 23, "mmx"}, {1, 0, 3, 24, "fxsr"},
	{1, 0, 3, 25, "sse"}, {1, 0, 3, 26, "sse2"}, {1, 0, 3, 27, "ss"}, {1, 0, 3, 28, "ht"},
	{0x80000001, 0, 3, 11, "syscall"}, {0x80000001, 0, 3, 20, "nx"}, {0x80000001, 0, 3, 26, "pdpe1gb"},
	{0x80000001, 0, 3, 27, "rdtscp"}, {0x80000001, 0, 3, 29, "lm"},
	{1, 0, 2, 0, "pni"}, {1, 0, 2, 1, "pclmulqdq"}, {1, 0, 2, 9, "ssse3"}, {1, 0, 2, 12, "fma"},
	{1, 0, 2, 13, "cx16"}, {1, 0, 2, 19, "sse4_1"}, {1, 0, 2, 20, "sse4_2"}, {1, 0, 2, 21, "x2apic"},
	{1, 0, 2, 22, "movbe"}, {1, 0, 2, 23, "popcnt"}, {1, 0, 2, 25, "aes"}, {1, 0, 2, 26, "xsave"},
	{1, 0, 2, 28, "avx"}, {1, 0, 2, 29, "f16c"}, {1, 0, 2, 30, "rdrand"}, {1, 0, 2, 31, "hypervisor"},
	{0x80000001, 0, 2, 0, "lahf_lm"}, {0x80000001, 0, 2, 5, "abm"}, {0x80000001, 0, 2, 8, "3dnowprefetch"},
	{7, 0, 1, 0, "fsgsbase"}, {7, 0, 1, 3, "bmi1"}, {7, 0, 1, 4, "hle"}, {7, 0, 1, 5, "avx2"},
	{7, 0, 1, 7, "smep"}, {7, 0, 1, 8, "bmi2"}, {7, 0, 1, 9, "erms"}, {7, 0, 1, 10, "invpcid"},
	{7, 0, 1, 11, "rtm"}, {7, 0, 1, 16, "avx512f"}, {7, 0, 1, 17, "avx512dq"}, {7, 0, 1, 18, "rdseed"},
	{7, 0, 1, 19, "adx"}, {7, 0, 1, 20, "smap"}, {7, 0, 1, 23, "clflushopt"}, {7, 0, 1, 24, "clwb"},
	{7, 0, 1, 28, "avx512cd"}, {7, 0, 1, 29, "sha_ni"}, {7, 0, 1, 30, "avx512bw"}, {7, 0, 1, 31, "avx512vl"},
	{0xd, 1, 0, 0, "xsaveopt"}, {0xd, 1, 0, 1, "xsavec"}, {0xd, 1, 0, 3, "xsaves"},
	{7, 0, 2, 1, "avx512vbmi"}, {7, 0, 2, 2, "umip"}, {7, 0, 2, 4, "pku"}, {7, 0, 2, 8, "gfni"},
	{7, 0, 2, 9, "vaes"}, {7, 0, 2, 10, "vpclmulqdq"}, {7, 0, 2, 22, "rdpid"},
	{7, 0, 3, 4, "fsrm"}, {7, 0, 3, 18, "pconfig"}, {7, 0, 3, 26, "flush_l1d"}, {7, 0, 3, 29, "arch_capabilities"},
}

// hostCPU is what CPUID says about the host CPU.
type hostCPU struct {
	vendor, model         string
	family, modelNo, step uint32
	maxLeaf               uint32
	flags                 string
	physBits, virtBits    uint32
}

var (
	cpuOnce sync.Once
	cpu     hostCPU
)

// readCPU runs CPUID once.
func readCPU() hostCPU {
	cpuOnce.Do(func() {
		maxLeaf, b, c, d := cpuid(0, 0)
		cpu.maxLeaf = maxLeaf
		cpu.vendor = regString(b, d, c)
		a, _, _, _ := cpuid(1, 0)
		cpu.step = a & 0xf
		cpu.modelNo = (a >> 4) & 0xf
		cpu.family = (a >> 8) & 0xf
		if cpu.family == 0xf {
			cpu.family += (a >> 20) & 0xff
		}
		if cpu.family >= 6 {
			cpu.modelNo += ((a >> 16) & 0xf) << 4
		}
		maxExt, _, _, _ := cpuid(0x80000000, 0)
		if maxExt >= 0x80000004 {
			var name []string
			for l := uint32(0x80000002); l <= 0x80000004; l++ {
				a, b, c, d := cpuid(l, 0)
				name = append(name, regString(a, b, c, d))
			}
			cpu.model = strings.TrimSpace(strings.TrimRight(strings.Join(name, ""), "\x00"))
		}
		cpu.physBits, cpu.virtBits = 46, 48
		if maxExt >= 0x80000008 {
			a, _, _, _ := cpuid(0x80000008, 0)
			cpu.physBits, cpu.virtBits = a&0xff, (a>>8)&0xff
		}
		var names []string
		for _, f := range cpuFlags {
			if f.leaf > maxLeaf && f.leaf < 0x80000000 || f.leaf >= 0x80000000 && f.leaf > maxExt {
				continue
			}
			a, b, c, d := cpuid(f.leaf, f.sub)
			if [4]uint32{a, b, c, d}[f.reg]&(1<<f.bit) != 0 {
				names = append(names, f.name)
			}
		}
		cpu.flags = strings.Join(names, " ")
		if cpu.model == "" {
			cpu.model = "Bulwark virtual CPU"
		}
	})
	return cpu
}

// regString is the text of CPUID registers in order.
func regString(regs ...uint32) string {
	b := make([]byte, 0, 4*len(regs))
	for _, r := range regs {
		b = binary.LittleEndian.AppendUint32(b, r)
	}
	return string(b)
}

func (p *fs) cpuinfo() ([]byte, error) {
	c := readCPU()
	n := p.k.Config().NumCPU
	var b bytes.Buffer
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "processor\t: %d\nvendor_id\t: %s\ncpu family\t: %d\nmodel\t\t: %d\n"+
			"model name\t: %s\nstepping\t: %d\ncpu MHz\t\t: 2000.000\ncache size\t: 0 KB\n"+
			"physical id\t: 0\nsiblings\t: %d\ncore id\t\t: %d\ncpu cores\t: %d\napicid\t\t: %d\n"+
			"initial apicid\t: %d\nfpu\t\t: yes\nfpu_exception\t: yes\ncpuid level\t: %d\nwp\t\t: yes\n"+
			"flags\t\t: %s\nbogomips\t: 4000.00\nclflush size\t: 64\ncache_alignment\t: 64\n"+
			"address sizes\t: %d bits physical, %d bits virtual\npower management:\n\n",
			i, c.vendor, c.family, c.modelNo, c.model, c.step, n, i, n, i, i, c.maxLeaf, c.flags,
			c.physBits, c.virtBits)
	}
	return b.Bytes(), nil
}
