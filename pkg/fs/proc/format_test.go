package proc

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/kernel"
	"bulwark.dev/pkg/kernel/auth"
)

// testInfo is a process as the formatters see it.
func testInfo() procInfo {
	boot := time.Unix(1000, 0)
	i := procInfo{
		s: kernel.ProcessSnapshot{
			PID: 42, PPID: 1, PGID: 40, SID: 7, State: "S", Comm: "my prog) x",
			Creds: auth.NewUserCredentials(1000, 100, []uint32{4, 27}), Threads: 3,
			StartTime: boot.Add(2500 * time.Millisecond),
			UserTime:  1500 * time.Millisecond, SysTime: 250 * time.Millisecond,
			SigBlocked: 1 << (linux.SIGINT - 1), SigCaught: 1 << (linux.SIGTERM - 1),
		},
		bootTime: boot, numCPU: 4, exitSignal: linux.SIGCHLD, tpgid: -1,
	}
	for r := range i.limits {
		i.limits[r] = kernel.Rlimit{Cur: linux.RLimInfinity, Max: linux.RLimInfinity}
	}
	i.limits[linux.RLIMIT_NOFILE] = kernel.Rlimit{Cur: 1024, Max: 4096}
	return i
}

// parseStat splits /proc/[pid]/stat like procps: the comm is between the
// first "(" and the last ")".
func parseStat(t *testing.T, text string) (comm string, fields []string) {
	t.Helper()
	open, end := strings.IndexByte(text, '('), strings.LastIndexByte(text, ')')
	if open < 0 || end < open || !strings.HasSuffix(text, "\n") {
		t.Fatalf("malformed stat %q", text)
	}
	fields = append([]string{strings.TrimSpace(text[:open]), ""}, strings.Fields(text[end+1:])...)
	return text[open+1 : end], fields
}

func TestStatFormat(t *testing.T) {
	comm, f := parseStat(t, string(statText(testInfo())))
	if len(f) != 52 {
		t.Fatalf("stat has %d fields, want 52: %q", len(f), f)
	}
	if comm != "my prog) x" {
		t.Errorf("comm %q", comm)
	}
	// proc(5) numbers fields from 1.
	want := map[int]string{
		1: "42", 3: "S", 4: "1", 5: "40", 6: "7", 7: "0", 8: "-1",
		14: "150", 15: "25", 18: "20", 19: "0", 20: "3", 22: "250",
		25: strconv.FormatUint(linux.RLimInfinity, 10),
		32: "2", 34: "16384", 38: "17",
	}
	for n, v := range want {
		if f[n-1] != v {
			t.Errorf("field %d = %q, want %q", n, f[n-1], v)
		}
	}
	for i, v := range f {
		if i == 1 || i == 2 {
			continue
		}
		if _, err := strconv.ParseInt(v, 10, 64); err != nil {
			if _, err := strconv.ParseUint(v, 10, 64); err != nil {
				t.Errorf("field %d = %q is not a number", i+1, v)
			}
		}
	}
}

func TestThreadStat(t *testing.T) {
	i := testInfo()
	i.th = &kernel.ThreadSnapshot{TID: 44, Comm: "worker", State: "R", UserTime: time.Second}
	comm, f := parseStat(t, string(statText(i)))
	if comm != "worker" || f[0] != "44" || f[2] != "R" || f[13] != "100" {
		t.Errorf("thread stat: comm %q pid %s state %s utime %s", comm, f[0], f[2], f[13])
	}
	st := statusText(i)
	for _, l := range []string{"Name:\tworker\n", "Tgid:\t42\n", "Pid:\t44\n", "State:\tR (running)\n"} {
		if !strings.Contains(string(st), l) {
			t.Errorf("thread status lacks %q", l)
		}
	}
}

func TestStatusFormat(t *testing.T) {
	text := string(statusText(testInfo()))
	fields := map[string]string{}
	var order []string
	for _, l := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			t.Fatalf("line %q has no colon", l)
		}
		fields[k] = strings.TrimSpace(v)
		order = append(order, k)
	}
	for k, v := range map[string]string{
		"Name": "my prog) x", "State": "S (sleeping)", "Tgid": "42", "Pid": "42", "PPid": "1",
		"TracerPid": "0", "Uid": "1000\t1000\t1000\t1000", "Gid": "100\t100\t100\t100",
		"Groups": "4 27", "Threads": "3", "SigBlk": "0000000000000002",
		"SigCgt": "0000000000004000", "CapEff": "0000000000000000", "NoNewPrivs": "0",
		"Seccomp": "0", "Cpus_allowed": "f", "Cpus_allowed_list": "0-3", "SigQ": "0/18446744073709551615",
		"voluntary_ctxt_switches": "0",
	} {
		if fields[k] != v {
			t.Errorf("%s = %q, want %q", k, fields[k], v)
		}
	}
	for _, k := range []string{"Ngid", "FDSize", "ShdPnd", "SigIgn", "SigPnd", "CapInh", "CapPrm", "CapBnd", "CapAmb"} {
		if _, ok := fields[k]; !ok {
			t.Errorf("status lacks %s", k)
		}
	}
	if order[0] != "Name" || order[len(order)-1] != "nonvoluntary_ctxt_switches" {
		t.Errorf("status order %v", order)
	}
}

func TestLimitsFormat(t *testing.T) {
	lines := strings.Split(strings.TrimSuffix(string(limitsText(testInfo())), "\n"), "\n")
	if len(lines) != 17 {
		t.Fatalf("%d lines, want 17", len(lines))
	}
	if lines[0] != "Limit                     Soft Limit           Hard Limit           Units     " {
		t.Errorf("header %q", lines[0])
	}
	if lines[8] != "Max open files            1024                 4096                 files     " {
		t.Errorf("nofile row %q", lines[8])
	}
	if lines[14] != "Max nice priority         unlimited            unlimited            " {
		t.Errorf("nice row %q", lines[14])
	}
}

func TestStatm(t *testing.T) {
	if got := string(statmText(testInfo())); len(strings.Fields(got)) != 7 {
		t.Errorf("statm %q", got)
	}
}

func TestCPUHelpers(t *testing.T) {
	if cpuList(1) != "0" || cpuList(8) != "0-7" || cpuMask(2) != "3" || cpuMask(64) != "ffffffffffffffff" {
		t.Errorf("cpuList/cpuMask: %s %s %s %s", cpuList(1), cpuList(8), cpuMask(2), cpuMask(64))
	}
}
