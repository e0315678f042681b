package cgroup

import (
	"fmt"
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// setting is one control-file write; skip says the spec leaves it unset.
type setting struct {
	ctrl, file, value string
	optional          bool // the file may be missing (e.g. swap accounting off): log, don't fail
}

// v1Settings lists the v1 writes for res, in the order they must happen
// (the period before the quota; the memory limit before memory+swap).
func v1Settings(res *specs.LinuxResources) []setting {
	var s []setting
	if m := res.Memory; m != nil {
		if m.Limit != nil {
			s = append(s, setting{"memory", "memory.limit_in_bytes", limit(*m.Limit), false})
		}
		if m.Reservation != nil {
			s = append(s, setting{"memory", "memory.soft_limit_in_bytes", limit(*m.Reservation), false})
		}
		if m.Swap != nil {
			s = append(s, setting{"memory", "memory.memsw.limit_in_bytes", limit(*m.Swap), true})
		}
	}
	if c := res.CPU; c != nil {
		if c.Shares != nil && *c.Shares != 0 {
			s = append(s, setting{"cpu", "cpu.shares", strconv.FormatUint(*c.Shares, 10), false})
		}
		if c.Period != nil && *c.Period != 0 {
			s = append(s, setting{"cpu", "cpu.cfs_period_us", strconv.FormatUint(*c.Period, 10), false})
		}
		if c.Quota != nil && *c.Quota != 0 {
			s = append(s, setting{"cpu", "cpu.cfs_quota_us", strconv.FormatInt(*c.Quota, 10), false})
		}
		if c.Cpus != "" {
			s = append(s, setting{"cpuset", "cpuset.cpus", c.Cpus, false})
		}
		if c.Mems != "" {
			s = append(s, setting{"cpuset", "cpuset.mems", c.Mems, false})
		}
	}
	if p := res.Pids; p != nil {
		v := "max"
		if p.Limit > 0 {
			v = strconv.FormatInt(p.Limit, 10)
		}
		s = append(s, setting{"pids", "pids.max", v, false})
	}
	return s
}

// limit formats a v1 byte limit: negative means unlimited.
func limit(v int64) string {
	if v < 0 {
		return "-1"
	}
	return strconv.FormatInt(v, 10)
}

// applyV1 writes res into the v1 controller directories.
func applyV1(dirs map[string]string, res *specs.LinuxResources, logf func(string, ...any)) error {
	extra, err := v1ExtraSettings(res)
	if err != nil {
		return err
	}
	for _, st := range append(v1Settings(res), extra...) {
		dir, ok := dirs[st.ctrl]
		if !ok {
			return fmt.Errorf("the spec sets %s, but the %s cgroup controller is not mounted", st.file, st.ctrl)
		}
		if !exists(dir, st.file) {
			if st.optional {
				logf("cgroup: %s does not exist (accounting disabled on this host): %s not applied", st.file, st.value)
				continue
			}
			return fmt.Errorf("the spec sets %s, which this host's %s cgroup controller does not have", st.file, st.ctrl)
		}
		if err := writeFile(dir, st.file, st.value); err != nil {
			return err
		}
	}
	return nil
}

// v2Settings lists the v2 writes for res, converting v1 values as runc
// does (cpu.weight from shares, memory.swap.max = swap - limit).
func v2Settings(res *specs.LinuxResources) []setting {
	var s []setting
	if m := res.Memory; m != nil {
		if m.Limit != nil {
			s = append(s, setting{"memory", "memory.max", max2(*m.Limit), false})
		}
		if m.Reservation != nil {
			s = append(s, setting{"memory", "memory.low", max2(*m.Reservation), false})
		}
		if m.Swap != nil {
			swap := *m.Swap
			if swap > 0 && m.Limit != nil && *m.Limit > 0 {
				swap -= *m.Limit
			}
			s = append(s, setting{"memory", "memory.swap.max", max2(swap), true})
		}
	}
	if c := res.CPU; c != nil {
		if c.Shares != nil && *c.Shares != 0 {
			s = append(s, setting{"cpu", "cpu.weight", strconv.FormatUint(weight(*c.Shares), 10), false})
		}
		if c.Quota != nil || c.Period != nil {
			period := uint64(100000)
			if c.Period != nil && *c.Period != 0 {
				period = *c.Period
			}
			quota := "max"
			if c.Quota != nil && *c.Quota > 0 {
				quota = strconv.FormatInt(*c.Quota, 10)
			}
			s = append(s, setting{"cpu", "cpu.max", quota + " " + strconv.FormatUint(period, 10), false})
		}
		if c.Cpus != "" {
			s = append(s, setting{"cpuset", "cpuset.cpus", c.Cpus, false})
		}
		if c.Mems != "" {
			s = append(s, setting{"cpuset", "cpuset.mems", c.Mems, false})
		}
	}
	if p := res.Pids; p != nil {
		v := "max"
		if p.Limit > 0 {
			v = strconv.FormatInt(p.Limit, 10)
		}
		s = append(s, setting{"pids", "pids.max", v, false})
	}
	return s
}

// max2 formats a v2 byte limit: negative means "max".
func max2(v int64) string {
	if v < 0 {
		return "max"
	}
	return strconv.FormatInt(v, 10)
}

// weight converts v1 cpu shares [2, 262144] to a v2 cpu.weight [1, 10000].
func weight(shares uint64) uint64 {
	shares = min(max(shares, 2), 262144)
	return 1 + (shares-2)*9999/262142
}

// applyV2 writes res into the v2 directory. A controller that is not
// enabled there (its file is missing) makes the limit a no-op, logged.
func applyV2(dir string, res *specs.LinuxResources, logf func(string, ...any)) error {
	for _, st := range v2Settings(res) {
		if !exists(dir, st.file) {
			logf("cgroup: the %s controller is not enabled in %s: %s=%s not applied", st.ctrl, dir, st.file, st.value)
			continue
		}
		if err := writeFile(dir, st.file, st.value); err != nil {
			return err
		}
	}
	return nil
}
