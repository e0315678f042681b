package proc

import (
	"bytes"
	"fmt"

	"bulwark.dev/pkg/vfs"
)

func (p *fs) uptime(vfs.Context) ([]byte, error) {
	up := p.k.Uptime().Seconds()
	return []byte(fmt.Sprintf("%.2f %.2f\n", up, up*float64(p.k.Config().NumCPU))), nil
}

// totalMemory is the sandbox's memory size, with a default when unset.
func (p *fs) totalMemory() uint64 {
	if m := p.k.Config().TotalMemory; m != 0 {
		return m
	}
	return 2 << 30
}

func (p *fs) meminfo(vfs.Context) ([]byte, error) {
	total := p.totalMemory() >> 10
	var b bytes.Buffer
	for _, l := range []struct {
		name string
		kb   uint64
	}{
		{"MemTotal", total}, {"MemFree", total / 2}, {"MemAvailable", total / 2},
		{"Buffers", 0}, {"Cached", 0}, {"SwapCached", 0},
		{"SwapTotal", 0}, {"SwapFree", 0}, {"Shmem", 0},
	} {
		fmt.Fprintf(&b, "%-16s%8d kB\n", l.name+":", l.kb)
	}
	return b.Bytes(), nil
}

func (p *fs) loadavg(vfs.Context) ([]byte, error) {
	tgs := p.k.ThreadGroups()
	last := int32(0)
	for _, tg := range tgs {
		last = max(last, tg.PID())
	}
	return []byte(fmt.Sprintf("0.00 0.00 0.00 1/%d %d\n", len(tgs), last)), nil
}

func (p *fs) version(vfs.Context) ([]byte, error) {
	cfg := p.k.Config()
	return []byte(fmt.Sprintf("Linux version %s (bulwark) %s\n", cfg.Release, cfg.Version)), nil
}

func (p *fs) cpuinfo(vfs.Context) ([]byte, error) {
	var b bytes.Buffer
	for i := 0; i < p.k.Config().NumCPU; i++ {
		fmt.Fprintf(&b, "processor\t: %d\nvendor_id\t: GenuineIntel\nmodel name\t: Bulwark virtual CPU\n"+
			"cpu cores\t: %d\nflags\t\t: fpu sse sse2\n\n", i, p.k.Config().NumCPU)
	}
	return b.Bytes(), nil
}
