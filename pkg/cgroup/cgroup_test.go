package cgroup

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

const hostMountinfo = `22 1 0:21 / /sys rw - sysfs sysfs rw
30 22 0:26 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755
31 30 0:27 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct
32 30 0:28 /docker/abc /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
33 30 0:29 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,name=systemd
34 30 0:30 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw
35 30 0:31 / /sys/fs/cgroup/my\040pids rw - cgroup cgroup rw,pids
`

func TestParseMountinfo(t *testing.T) {
	l := parseMountinfo(hostMountinfo)
	want := map[string]string{
		"cpu": "/sys/fs/cgroup/cpu,cpuacct", "cpuacct": "/sys/fs/cgroup/cpu,cpuacct",
		"memory": "/sys/fs/cgroup/memory", "pids": "/sys/fs/cgroup/my pids",
	}
	if !reflect.DeepEqual(l.V1, want) {
		t.Errorf("V1 = %v, want %v", l.V1, want)
	}
	if l.Unified != "/sys/fs/cgroup/unified" || l.V1Root["memory"] != "/docker/abc" {
		t.Errorf("Unified %q, memory root %q", l.Unified, l.V1Root["memory"])
	}
}

func TestResolve(t *testing.T) {
	l := parseMountinfo(hostMountinfo)
	own := ownCgroups("4:memory:/docker/abc/inner\n1:cpu,cpuacct:/user\n0::/u2\n8:pids:/\n")
	c, err := resolve(l, own, "/a/b")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"cpu": "/sys/fs/cgroup/cpu,cpuacct/a/b", "cpuacct": "/sys/fs/cgroup/cpu,cpuacct/a/b",
		"memory": "/sys/fs/cgroup/memory/a/b", "pids": "/sys/fs/cgroup/my pids/a/b",
	}
	if !reflect.DeepEqual(c.V1, want) || c.Unified != "/sys/fs/cgroup/unified/a/b" {
		t.Errorf("absolute: %+v", c)
	}
	if got := len(c.dirs()); got != 4 { // cpu and cpuacct share one
		t.Errorf("dirs = %v, want 4 distinct", c.dirs())
	}
	c, err = resolve(l, own, "rel")
	if err != nil {
		t.Fatal(err)
	}
	if c.V1["memory"] != "/sys/fs/cgroup/memory/inner/rel" || c.V1["cpu"] != "/sys/fs/cgroup/cpu,cpuacct/user/rel" ||
		c.V1["pids"] != "/sys/fs/cgroup/my pids/rel" || c.Unified != "/sys/fs/cgroup/unified/u2/rel" {
		t.Errorf("relative: %+v", c)
	}
	for p, msg := range map[string]string{
		"system.slice:docker:abc": "--systemd-cgroup is not supported yet",
		"/a/../../etc":            `".." is not allowed`,
		"/":                       "names no cgroup",
	} {
		if _, err := resolve(l, own, p); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("resolve(%q) = %v, want %q", p, err, msg)
		}
	}
}

// fakeCgroup lays out a fake v1 cgroupfs under a temp dir.
func fakeCgroup(t *testing.T, path string) (*Cgroup, string) {
	t.Helper()
	base := t.TempDir()
	l := Layout{V1: map[string]string{}, V1Root: map[string]string{}}
	for _, ctrl := range []string{"memory", "cpuacct", "pids"} {
		l.V1[ctrl] = filepath.Join(base, ctrl)
		os.Mkdir(l.V1[ctrl], 0o755)
	}
	l.V1["cpu"] = l.V1["cpuacct"]
	c, err := resolve(l, map[string]string{}, path)
	if err != nil {
		t.Fatal(err)
	}
	return c, base
}

func TestCreateDeleteFake(t *testing.T) {
	c, base := fakeCgroup(t, "/x/y")
	if err := c.Create(nil, nil); err != nil {
		t.Fatal(err)
	}
	for _, d := range c.dirs() {
		if fi, err := os.Stat(d); err != nil || !fi.IsDir() {
			t.Errorf("%s not created: %v", d, err)
		}
	}
	if err := c.Delete(); err != nil {
		t.Fatal(err)
	}
	for _, d := range c.dirs() {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("%s still exists after Delete", d)
		}
	}
	if err := c.Delete(); err != nil {
		t.Errorf("second Delete: %v", err)
	}

	// A failed create removes what it made: pids/x/y cannot be made
	// because pids/x is a file.
	for _, ctrl := range []string{"memory", "cpuacct", "pids"} {
		os.RemoveAll(filepath.Join(base, ctrl, "x")) // Delete leaves parents, as runc does
	}
	if err := os.WriteFile(filepath.Join(base, "pids", "x"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := c.Create(nil, nil); err == nil {
		t.Fatal("Create over a file succeeded")
	}
	for _, ctrl := range []string{"memory", "cpuacct"} {
		if _, err := os.Stat(filepath.Join(base, ctrl, "x")); !os.IsNotExist(err) {
			t.Errorf("%s/x left after failed create", ctrl)
		}
	}
}

func TestCreateMissingController(t *testing.T) {
	c, _ := fakeCgroup(t, "/m")
	delete(c.V1, "pids")
	res := &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: 10}}
	err := c.Create(res, nil)
	if err == nil || !strings.Contains(err.Error(), "pids cgroup controller is not mounted") {
		t.Fatalf("Create = %v", err)
	}
	if _, err := os.Stat(c.V1["memory"]); !os.IsNotExist(err) {
		t.Error("memory dir left after failed create")
	}
}

func i64(v int64) *int64   { return &v }
func u64(v uint64) *uint64 { return &v }
func names(s []setting) []string {
	var out []string
	for _, x := range s {
		out = append(out, x.file+"="+x.value)
	}
	return out
}

func TestSettings(t *testing.T) {
	res := &specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: i64(64 << 20), Reservation: i64(32 << 20), Swap: i64(128 << 20)},
		CPU:    &specs.LinuxCPU{Shares: u64(1024), Quota: i64(50000), Period: u64(100000), Cpus: "0", Mems: "0"},
		Pids:   &specs.LinuxPids{Limit: 0},
	}
	v1 := []string{"memory.limit_in_bytes=67108864", "memory.soft_limit_in_bytes=33554432",
		"memory.memsw.limit_in_bytes=134217728", "cpu.shares=1024", "cpu.cfs_period_us=100000",
		"cpu.cfs_quota_us=50000", "cpuset.cpus=0", "cpuset.mems=0", "pids.max=max"}
	if got := names(v1Settings(res)); !slices.Equal(got, v1) {
		t.Errorf("v1 = %v\nwant %v", got, v1)
	}
	v2 := []string{"memory.max=67108864", "memory.low=33554432", "memory.swap.max=67108864",
		"cpu.weight=39", "cpu.max=50000 100000", "cpuset.cpus=0", "cpuset.mems=0", "pids.max=max"}
	if got := names(v2Settings(res)); !slices.Equal(got, v2) {
		t.Errorf("v2 = %v\nwant %v", got, v2)
	}
	res.Memory = &specs.LinuxMemory{Limit: i64(-1), Swap: i64(-1)}
	res.CPU = &specs.LinuxCPU{Quota: i64(-1)}
	if got := names(v2Settings(res)); !slices.Equal(got[:3], []string{"memory.max=max", "memory.swap.max=max", "cpu.max=max 100000"}) {
		t.Errorf("v2 unlimited = %v", got)
	}
	if weight(2) != 1 || weight(262144) != 10000 {
		t.Errorf("weight bounds: %d %d", weight(2), weight(262144))
	}
}

func TestApplyV2SkipsMissingControllers(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "pids.max"), nil, 0o644)
	var logged []string
	logf := func(f string, a ...any) { logged = append(logged, f) }
	res := &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(1 << 20)}, Pids: &specs.LinuxPids{Limit: 7}}
	if err := applyV2(dir, res, logf); err != nil {
		t.Fatal(err)
	}
	if v, _ := readString(dir, "pids.max"); v != "7" {
		t.Errorf("pids.max = %q", v)
	}
	if len(logged) != 1 {
		t.Errorf("logged %d messages, want 1 (memory not enabled)", len(logged))
	}
}

func TestStatsFake(t *testing.T) {
	c, _ := fakeCgroup(t, "/s")
	if err := c.Create(nil, nil); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"cpuacct/s/cpuacct.usage":            "3000\n",
		"cpuacct/s/cpuacct.usage_percpu":     "1000 2000 \n",
		"cpuacct/s/cpuacct.stat":             "user 2\nsystem 1\n",
		"cpuacct/s/cpu.stat":                 "nr_periods 5\nnr_throttled 1\nthrottled_time 9\n",
		"memory/s/memory.usage_in_bytes":     "4096\n",
		"memory/s/memory.limit_in_bytes":     "67108864\n",
		"memory/s/memory.max_usage_in_bytes": "8192\n",
		"memory/s/memory.failcnt":            "0\n",
		"memory/s/memory.stat":               "cache 100\nrss 200\n",
		"pids/s/pids.current":                "3\n",
		"pids/s/pids.max":                    "max\n",
	}
	base := filepath.Dir(filepath.Dir(c.V1["memory"]))
	for p, v := range files {
		if err := os.WriteFile(filepath.Join(base, p), []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s, err := c.Stats()
	if err != nil {
		t.Fatal(err)
	}
	want := Stats{
		CPU: CPU{Usage: CPUUsage{Total: 3000, Percpu: []uint64{1000, 2000}, User: 2e7, Kernel: 1e7},
			Throttling: Throttling{5, 1, 9}},
		Memory: Memory{Cache: 100, Usage: MemoryEntry{Limit: 64 << 20, Usage: 4096, Max: 8192},
			Raw: map[string]uint64{"cache": 100, "rss": 200}},
		Pids: Pids{Current: 3},
	}
	if !reflect.DeepEqual(*s, want) {
		t.Errorf("Stats = %+v\nwant %+v", *s, want)
	}
}

func TestStatsV2Fake(t *testing.T) {
	d := t.TempDir()
	for f, v := range map[string]string{
		"cpu.stat":       "usage_usec 10\nuser_usec 6\nsystem_usec 4\n",
		"memory.current": "500\n", "memory.max": "max\n", "memory.peak": "900\n",
		"memory.stat": "anon 300\nfile 200\n", "pids.current": "2\n", "pids.max": "20\n",
	} {
		os.WriteFile(filepath.Join(d, f), []byte(v), 0o644)
	}
	s, err := (&Cgroup{Unified: d}).Stats()
	if err != nil {
		t.Fatal(err)
	}
	if s.CPU.Usage.Total != 10000 || s.CPU.Usage.User != 6000 || s.CPU.Usage.Kernel != 4000 ||
		s.Memory.Usage.Usage != 500 || s.Memory.Usage.Max != 900 || s.Memory.Usage.Limit != ^uint64(0) ||
		s.Memory.Cache != 200 || s.Memory.Raw["anon"] != 300 || s.Pids != (Pids{2, 20}) {
		t.Errorf("Stats = %+v", s)
	}
}

// TestRealV1 creates a cgroup below runsc's own cgroup in the host's v1
// hierarchies, applies limits, moves a process in and deletes it.
func TestRealV1(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	if _, err := os.Stat("/sys/fs/cgroup/memory/memory.limit_in_bytes"); err != nil {
		t.Skip("no cgroup v1 memory controller at /sys/fs/cgroup/memory")
	}
	c, err := Resolve("bulwark-test-" + strconv.Itoa(os.Getpid()))
	if err != nil {
		t.Fatal(err)
	}
	res := &specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: i64(64 << 20)},
		CPU:    &specs.LinuxCPU{Shares: u64(512), Quota: i64(50000), Period: u64(100000)},
		Pids:   &specs.LinuxPids{Limit: 50},
	}
	if err := c.Create(res, t.Logf); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Delete() })
	for dirFile, want := range map[[2]string]string{
		{c.V1["memory"], "memory.limit_in_bytes"}: "67108864",
		{c.V1["cpu"], "cpu.shares"}:               "512",
		{c.V1["cpu"], "cpu.cfs_quota_us"}:         "50000",
		{c.V1["pids"], "pids.max"}:                "50",
	} {
		if got, err := readString(dirFile[0], dirFile[1]); err != nil || got != want {
			t.Errorf("%s/%s = %q, %v; want %q", dirFile[0], dirFile[1], got, err, want)
		}
	}
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	go cmd.Wait()
	if err := c.Join(cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	pids, err := c.Pids()
	if err != nil || !slices.Equal(pids, []int{cmd.Process.Pid}) {
		t.Errorf("Pids = %v, %v; want [%d]", pids, err, cmd.Process.Pid)
	}
	s, err := c.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if s.Memory.Usage.Limit != 64<<20 || s.Pids.Current != 1 || s.Pids.Limit != 50 {
		t.Errorf("Stats = %+v", s)
	}
	// Delete kills what still runs inside and removes every directory.
	if err := c.Delete(); err != nil {
		t.Fatal(err)
	}
	for _, d := range c.dirs() {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("%s left after Delete", d)
		}
	}
}

func TestV1ExtraSettings(t *testing.T) {
	swap, oom, w := uint64(40), true, uint16(300)
	res := &specs.LinuxResources{
		Memory:  &specs.LinuxMemory{Swappiness: &swap, DisableOOMKiller: &oom},
		BlockIO: &specs.LinuxBlockIO{Weight: &w, ThrottleReadBpsDevice: []specs.LinuxThrottleDevice{{Rate: 100}}},
	}
	s, err := v1ExtraSettings(res)
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(s)
	want := "[{memory memory.swappiness 40 false} {memory memory.oom_control 1 false} " +
		"{blkio blkio.weight 300 false} {blkio blkio.throttle.read_bps_device 0:0 100 false}]"
	if got != want {
		t.Errorf("settings\n got %s\nwant %s", got, want)
	}
	bad := uint64(101)
	if _, err := v1ExtraSettings(&specs.LinuxResources{Memory: &specs.LinuxMemory{Swappiness: &bad}}); err == nil {
		t.Error("swappiness 101 accepted")
	}
	// A controller file the host lacks fails.
	dir := t.TempDir()
	err = applyV1(map[string]string{"blkio": dir, "memory": dir}, &specs.LinuxResources{BlockIO: res.BlockIO}, nil)
	if err == nil || !strings.Contains(err.Error(), "blkio.weight") {
		t.Errorf("applyV1 without blkio.weight: %v", err)
	}
	// Docker sends a zero weight when none is set: that writes nothing,
	// so it works on hosts without blkio.weight, as with runc.
	zero := uint16(0)
	if err := applyV1(map[string]string{"blkio": dir}, &specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{Weight: &zero, LeafWeight: &zero}}, nil); err != nil {
		t.Errorf("applyV1 with a zero blkio weight: %v", err)
	}
	err = applyV1(map[string]string{}, &specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 1}}}, nil)
	if err == nil || !strings.Contains(err.Error(), "hugetlb") {
		t.Errorf("applyV1 without hugetlb: %v", err)
	}
}
