package proc

import (
	"bytes"
	"fmt"
	"time"

	"bulwark.dev/pkg/kernel"
)

// systemFiles are the system-wide files of the root and their generators.
var systemFiles = []struct {
	name string
	fn   func(p *fs) ([]byte, error)
}{
	{"uptime", (*fs).uptime},
	{"meminfo", (*fs).meminfo},
	{"loadavg", (*fs).loadavg},
	{"version", (*fs).version},
	{"cpuinfo", (*fs).cpuinfo},
	{"stat", (*fs).stat},
	{"filesystems", func(*fs) ([]byte, error) { return []byte(filesystems), nil }},
}

// filesystems is /proc/filesystems: the types the sandbox can mount.
const filesystems = "nodev\tsysfs\nnodev\ttmpfs\nnodev\tproc\nnodev\tpipefs\nnodev\toverlay\nnodev\t9p\n"

// cpuTimes returns the user and system time used by every process so far
// (live threads and reaped children).
func (p *fs) cpuTimes() (user, sys time.Duration) {
	for _, tg := range p.k.ThreadGroups() {
		s := tg.Snapshot()
		if s.PPID == 0 {
			user += s.ChildUser
			sys += s.ChildSys
		}
		user += s.UserTime
		sys += s.SysTime
	}
	return user, sys
}

// idle returns the time the CPUs were idle since boot.
func (p *fs) idle(user, sys time.Duration) time.Duration {
	total := p.k.Uptime() * time.Duration(p.k.Config().NumCPU)
	return max(total-user-sys, 0)
}

func (p *fs) uptime() ([]byte, error) {
	u, s := p.cpuTimes()
	return fmt.Appendf(nil, "%.2f %.2f\n", p.k.Uptime().Seconds(), p.idle(u, s).Seconds()), nil
}

// totalMemory is the sandbox's memory size, with a default when unset.
func (p *fs) totalMemory() uint64 {
	if m := p.k.Config().TotalMemory; m != 0 {
		return m
	}
	return 2 << 30
}

func (p *fs) meminfo() ([]byte, error) {
	total := p.totalMemory()
	var used uint64
	if mf := p.k.Config().MemoryFile; mf != nil {
		used = uint64(mf.UsedBytes())
	}
	free := total - min(used, total)
	var b bytes.Buffer
	for _, l := range []struct {
		name  string
		bytes uint64
	}{
		{"MemTotal", total}, {"MemFree", free}, {"MemAvailable", free},
		{"Buffers", 0}, {"Cached", 0}, {"SwapCached", 0},
		{"Active", used}, {"Inactive", 0}, {"Active(anon)", used}, {"Inactive(anon)", 0},
		{"Active(file)", 0}, {"Inactive(file)", 0}, {"Unevictable", 0}, {"Mlocked", 0},
		{"SwapTotal", 0}, {"SwapFree", 0}, {"Dirty", 0}, {"Writeback", 0},
		{"AnonPages", used}, {"Mapped", 0}, {"Shmem", 0}, {"KReclaimable", 0},
		{"Slab", 0}, {"SReclaimable", 0}, {"SUnreclaim", 0}, {"KernelStack", 0},
		{"PageTables", 0}, {"CommitLimit", total}, {"Committed_AS", used},
		{"VmallocTotal", 34359738367 << 10}, {"VmallocUsed", 0}, {"VmallocChunk", 0},
		{"HugePages_Total", 0}, {"HugePages_Free", 0}, {"Hugepagesize", 2 << 20},
	} {
		if l.name == "HugePages_Total" || l.name == "HugePages_Free" {
			fmt.Fprintf(&b, "%-15s %8d\n", l.name+":", l.bytes)
			continue
		}
		fmt.Fprintf(&b, "%-15s %8d kB\n", l.name+":", l.bytes>>10)
	}
	return b.Bytes(), nil
}

// counts returns the number of threads, of running ones and of blocked
// (uninterruptible) ones.
func (p *fs) counts() (threads, running int) {
	for _, tg := range p.k.ThreadGroups() {
		for _, tid := range tg.ThreadIDs() {
			threads++
			if th, ok := tg.Thread(tid); ok && th.State == "R" {
				running++
			}
		}
	}
	return threads, max(running, 1)
}

func (p *fs) loadavg() ([]byte, error) {
	threads, running := p.counts()
	return fmt.Appendf(nil, "0.00 0.00 0.00 %d/%d %d\n", running, threads, p.k.LastPID()), nil
}

func (p *fs) version() ([]byte, error) {
	cfg := p.k.Config()
	return fmt.Appendf(nil, "Linux version %s (bulwark@bulwark) (gcc (Debian 12.2.0-14) 12.2.0, GNU ld (GNU Binutils for Debian) 2.40) %s\n",
		cfg.Release, cfg.Version), nil
}

// stat is /proc/stat. Time the sandbox used is spread evenly over its
// CPUs.
func (p *fs) stat() ([]byte, error) {
	u, s := p.cpuTimes()
	idle := p.idle(u, s)
	n := p.k.Config().NumCPU
	var b bytes.Buffer
	line := func(name string, div int) {
		d := time.Duration(div)
		fmt.Fprintf(&b, "%-5s%d 0 %d %d 0 0 0 0 0 0\n", name,
			kernel.Ticks(u/d), kernel.Ticks(s/d), kernel.Ticks(idle/d))
	}
	line("cpu ", 1)
	for i := 0; i < n; i++ {
		line(fmt.Sprintf("cpu%d ", i), n)
	}
	_, running := p.counts()
	fmt.Fprintf(&b, "intr 0\nctxt 0\nbtime %d\nprocesses %d\nprocs_running %d\nprocs_blocked 0\nsoftirq 0 0 0 0 0 0 0 0 0 0 0\n",
		p.k.BootTime().Unix(), p.k.LastPID(), running)
	return b.Bytes(), nil
}
