package cgroup

import (
	"fmt"
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// v1ExtraSettings lists the v1 writes for the memory extras (swappiness,
// OOM killer, kernel memory) and the blkio, hugetlb and network
// controllers. A limit whose controller or file this host lacks fails
// Create, as with runc.
func v1ExtraSettings(res *specs.LinuxResources) ([]setting, error) {
	var s []setting
	if m := res.Memory; m != nil {
		if m.Kernel != nil {
			s = append(s, setting{"memory", "memory.kmem.limit_in_bytes", limit(*m.Kernel), false})
		}
		if m.KernelTCP != nil {
			s = append(s, setting{"memory", "memory.kmem.tcp.limit_in_bytes", limit(*m.KernelTCP), false})
		}
		if m.Swappiness != nil {
			if *m.Swappiness > 100 {
				return nil, fmt.Errorf("memory swappiness %d is out of range [0, 100]", *m.Swappiness)
			}
			s = append(s, setting{"memory", "memory.swappiness", strconv.FormatUint(*m.Swappiness, 10), false})
		}
		if m.DisableOOMKiller != nil && *m.DisableOOMKiller {
			s = append(s, setting{"memory", "memory.oom_control", "1", false})
		}
	}
	if b := res.BlockIO; b != nil {
		s = append(s, blkioSettings(b)...)
	}
	for _, h := range res.HugepageLimits {
		s = append(s, setting{"hugetlb", "hugetlb." + h.Pagesize + ".limit_in_bytes", strconv.FormatUint(h.Limit, 10), false})
	}
	if n := res.Network; n != nil {
		if n.ClassID != nil {
			s = append(s, setting{"net_cls", "net_cls.classid", strconv.FormatUint(uint64(*n.ClassID), 10), false})
		}
		for _, p := range n.Priorities {
			s = append(s, setting{"net_prio", "net_prio.ifpriomap", fmt.Sprintf("%s %d", p.Name, p.Priority), false})
		}
	}
	return s, nil
}

// blkioSettings lists the blkio writes of b.
func blkioSettings(b *specs.LinuxBlockIO) []setting {
	var s []setting
	// A zero weight means "not set" (Docker always sends one), as in runc.
	if b.Weight != nil && *b.Weight != 0 {
		s = append(s, setting{"blkio", "blkio.weight", strconv.FormatUint(uint64(*b.Weight), 10), false})
	}
	if b.LeafWeight != nil && *b.LeafWeight != 0 {
		s = append(s, setting{"blkio", "blkio.leaf_weight", strconv.FormatUint(uint64(*b.LeafWeight), 10), false})
	}
	for _, d := range b.WeightDevice {
		if d.Weight != nil {
			s = append(s, setting{"blkio", "blkio.weight_device", fmt.Sprintf("%d:%d %d", d.Major, d.Minor, *d.Weight), false})
		}
		if d.LeafWeight != nil {
			s = append(s, setting{"blkio", "blkio.leaf_weight_device", fmt.Sprintf("%d:%d %d", d.Major, d.Minor, *d.LeafWeight), false})
		}
	}
	throttles := []struct {
		file string
		devs []specs.LinuxThrottleDevice
	}{
		{"blkio.throttle.read_bps_device", b.ThrottleReadBpsDevice},
		{"blkio.throttle.write_bps_device", b.ThrottleWriteBpsDevice},
		{"blkio.throttle.read_iops_device", b.ThrottleReadIOPSDevice},
		{"blkio.throttle.write_iops_device", b.ThrottleWriteIOPSDevice},
	}
	for _, t := range throttles {
		for _, d := range t.devs {
			s = append(s, setting{"blkio", t.file, fmt.Sprintf("%d:%d %d", d.Major, d.Minor, d.Rate), false})
		}
	}
	return s
}
