package cgroup

import (
	"bufio"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Stats is a cgroup's usage in runc's `events` JSON shape (the "data" of a
// "stats" event). Times are nanoseconds, sizes bytes.
type Stats struct {
	CPU    CPU    `json:"cpu"`
	Memory Memory `json:"memory"`
	Pids   Pids   `json:"pids"`
}

// CPU is the cpu part of Stats.
type CPU struct {
	Usage      CPUUsage   `json:"usage,omitempty"`
	Throttling Throttling `json:"throttling,omitempty"`
}

// CPUUsage is CPU time used: in total, per CPU (v1 only), in the kernel
// and in user mode.
type CPUUsage struct {
	Total  uint64   `json:"total,omitempty"`
	Percpu []uint64 `json:"percpu,omitempty"`
	Kernel uint64   `json:"kernel"`
	User   uint64   `json:"user"`
}

// Throttling counts CFS quota enforcement.
type Throttling struct {
	Periods          uint64 `json:"periods,omitempty"`
	ThrottledPeriods uint64 `json:"throttledPeriods,omitempty"`
	ThrottledTime    uint64 `json:"throttledTime,omitempty"`
}

// Memory is the memory part of Stats. Raw is memory.stat as is (v1: cache,
// rss, ...; v2: anon, file, ...).
type Memory struct {
	Cache uint64            `json:"cache,omitempty"`
	Usage MemoryEntry       `json:"usage,omitempty"`
	Swap  MemoryEntry       `json:"swap,omitempty"`
	Raw   map[string]uint64 `json:"raw,omitempty"`
}

// MemoryEntry is one memory counter with its limit, peak and the number of
// times the limit was hit.
type MemoryEntry struct {
	Limit   uint64 `json:"limit"`
	Usage   uint64 `json:"usage,omitempty"`
	Max     uint64 `json:"max,omitempty"`
	Failcnt uint64 `json:"failcnt"`
}

// Pids is the pids part of Stats; a Limit of 0 means none.
type Pids struct {
	Current uint64 `json:"current,omitempty"`
	Limit   uint64 `json:"limit,omitempty"`
}

// Stats reads the cgroup's usage. Files a controller does not provide are
// left at zero.
func (c *Cgroup) Stats() (*Stats, error) {
	if c.IsV2() {
		return statsV2(c.Unified), nil
	}
	return statsV1(c.V1), nil
}

// statsV1 reads the v1 controller directories.
func statsV1(dirs map[string]string) *Stats {
	s := &Stats{}
	if d, ok := dirs["cpuacct"]; ok {
		s.CPU.Usage.Total = readUint(d, "cpuacct.usage")
		s.CPU.Usage.Percpu = readUints(d, "cpuacct.usage_percpu")
		kv := readKV(d, "cpuacct.stat") // in USER_HZ ticks
		s.CPU.Usage.User = kv["user"] * nsPerTick
		s.CPU.Usage.Kernel = kv["system"] * nsPerTick
	}
	if d, ok := dirs["cpu"]; ok {
		kv := readKV(d, "cpu.stat")
		s.CPU.Throttling = Throttling{kv["nr_periods"], kv["nr_throttled"], kv["throttled_time"]}
	}
	if d, ok := dirs["memory"]; ok {
		s.Memory.Usage = MemoryEntry{
			Limit:   readUint(d, "memory.limit_in_bytes"),
			Usage:   readUint(d, "memory.usage_in_bytes"),
			Max:     readUint(d, "memory.max_usage_in_bytes"),
			Failcnt: readUint(d, "memory.failcnt"),
		}
		if exists(d, "memory.memsw.usage_in_bytes") {
			s.Memory.Swap = MemoryEntry{
				Limit:   readUint(d, "memory.memsw.limit_in_bytes"),
				Usage:   readUint(d, "memory.memsw.usage_in_bytes"),
				Max:     readUint(d, "memory.memsw.max_usage_in_bytes"),
				Failcnt: readUint(d, "memory.memsw.failcnt"),
			}
		}
		s.Memory.Raw = readKV(d, "memory.stat")
		s.Memory.Cache = s.Memory.Raw["cache"]
	}
	if d, ok := dirs["pids"]; ok {
		s.Pids = Pids{Current: readUint(d, "pids.current"), Limit: readUint(d, "pids.max")}
	}
	return s
}

// statsV2 reads the v2 directory.
func statsV2(d string) *Stats {
	s := &Stats{}
	kv := readKV(d, "cpu.stat") // microseconds
	s.CPU.Usage = CPUUsage{Total: kv["usage_usec"] * 1000, User: kv["user_usec"] * 1000, Kernel: kv["system_usec"] * 1000}
	s.CPU.Throttling = Throttling{kv["nr_periods"], kv["nr_throttled"], kv["throttled_usec"] * 1000}
	limit := uint64(math.MaxUint64)
	if v, err := readString(d, "memory.max"); err == nil && v != "max" {
		limit, _ = strconv.ParseUint(v, 10, 64)
	}
	ev := readKV(d, "memory.events")
	s.Memory.Usage = MemoryEntry{Limit: limit, Usage: readUint(d, "memory.current"), Max: readUint(d, "memory.peak"), Failcnt: ev["max"]}
	if exists(d, "memory.swap.current") {
		s.Memory.Swap = MemoryEntry{Usage: readUint(d, "memory.swap.current"), Limit: readUint(d, "memory.swap.max")}
	}
	s.Memory.Raw = readKV(d, "memory.stat")
	s.Memory.Cache = s.Memory.Raw["file"]
	s.Pids = Pids{Current: readUint(d, "pids.current"), Limit: readUint(d, "pids.max")}
	return s
}

// nsPerTick converts USER_HZ ticks (100 per second on Linux) to ns.
const nsPerTick = 1e9 / 100

// readUint reads a control file holding one number; "max" and a missing
// or unparsable file give 0.
func readUint(dir, file string) uint64 {
	v, err := readString(dir, file)
	if err != nil {
		return 0
	}
	n, _ := strconv.ParseUint(v, 10, 64)
	return n
}

// readUints reads a control file of space-separated numbers.
func readUints(dir, file string) []uint64 {
	v, err := readString(dir, file)
	if err != nil {
		return nil
	}
	var ns []uint64
	for _, f := range strings.Fields(v) {
		n, _ := strconv.ParseUint(f, 10, 64)
		ns = append(ns, n)
	}
	return ns
}

// readKV reads a flat-keyed control file ("key value" lines).
func readKV(dir, file string) map[string]uint64 {
	f, err := os.Open(filepath.Join(dir, file))
	if err != nil {
		return nil
	}
	defer f.Close()
	kv := map[string]uint64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		if n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64); err == nil {
			kv[k] = n
		}
	}
	return kv
}
