package proc

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/kernel"
)

// This file formats /proc/[pid]/stat, statm, status and limits (and the
// same files of /proc/[pid]/task/[tid], given the thread's snapshot).

// stateNames are the words /proc/[pid]/status shows after the state letter.
var stateNames = map[string]string{
	"R": "running", "S": "sleeping", "D": "disk sleep", "T": "stopped", "Z": "zombie",
}

// pageKB is the page size in kB.
const pageKB = linux.PageSize >> 10

// procInfo is everything the formats of this file show: a snapshot of
// the process (and of one of its threads for task/[tid] files) and a few
// more values read from the kernel. The formatters are pure functions of
// it.
type procInfo struct {
	s          kernel.ProcessSnapshot
	th         *kernel.ThreadSnapshot // nil: the process's own files
	bootTime   time.Time
	numCPU     int
	limits     [linux.RLIM_NLIMITS]kernel.Rlimit
	exitSignal int
	noNewPrivs bool
	ttyNr      uint32 // the controlling terminal's device number; 0: none
	tpgid      int32  // its foreground process group; -1: none
}

// info gathers the procInfo of the process (and thread th, if not nil).
func (p *process) info(s kernel.ProcessSnapshot, th *kernel.ThreadSnapshot) procInfo {
	i := procInfo{s: s, th: th, bootTime: p.k.BootTime(), numCPU: p.k.Config().NumCPU,
		exitSignal: p.tg.ExitSignal(), noNewPrivs: p.tg.NoNewPrivs(), tpgid: -1}
	if id, fg, ok := p.k.SessionTerminal(s.SID); ok {
		i.ttyNr, i.tpgid = kernel.TerminalDevice(id), fg
	}
	for r := range i.limits {
		i.limits[r] = p.tg.Limit(r)
	}
	return i
}

// forThread returns s with the fields of thread th (when not nil) in
// place of the process's: ids, name, state, CPU time and signal state.
func forThread(s kernel.ProcessSnapshot, th *kernel.ThreadSnapshot) (pid int32, comm, state string, ut, st int64) {
	if th == nil {
		return s.PID, s.Comm, s.State, kernel.Ticks(s.UserTime), kernel.Ticks(s.SysTime)
	}
	return th.TID, th.Comm, th.State, kernel.Ticks(th.UserTime), kernel.Ticks(th.SysTime)
}

// vsize returns the process's virtual memory size in bytes.
func vsize(s kernel.ProcessSnapshot) uint64 {
	if s.MM == nil {
		return 0
	}
	return s.MM.VirtualSize()
}

// statText is /proc/[pid]/stat: 52 fields, as proc(5) lists them.
func statText(i procInfo) []byte {
	s := i.s
	pid, comm, state, ut, st := forThread(s, i.th)
	start := kernel.Ticks(s.StartTime.Sub(i.bootTime))
	rsslim := i.limits[linux.RLIMIT_RSS].Cur
	fields := []any{
		pid, "(" + comm + ")", state, s.PPID, s.PGID, s.SID,
		i.ttyNr, i.tpgid, 0, // tty_nr, tpgid, flags
		0, 0, 0, 0, // minflt, cminflt, majflt, cmajflt
		ut, st, kernel.Ticks(s.ChildUser), kernel.Ticks(s.ChildSys),
		20, 0, s.Threads, 0, start, // priority, nice, num_threads, itrealvalue, starttime
		vsize(s), 0, rsslim, // vsize, rss (pages), rsslim
		0, 0, 0, 0, 0, // startcode, endcode, startstack, kstkesp, kstkeip
		uint64(s.SigPending | s.SigShared), uint64(s.SigBlocked), uint64(s.SigIgnored), uint64(s.SigCaught),
		0, 0, 0, // wchan, nswap, cnswap
		i.exitSignal, 0, 0, 0, // exit_signal, processor, rt_priority, policy
		0, 0, 0, // delayacct_blkio_ticks, guest_time, cguest_time
		0, 0, 0, 0, 0, 0, 0, // start_data, end_data, start_brk, arg_start, arg_end, env_start, env_end
		0, // exit_code
	}
	var b bytes.Buffer
	for i, f := range fields {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprint(&b, f)
	}
	b.WriteByte('\n')
	return b.Bytes()
}

// statmText is /proc/[pid]/statm: sizes in pages.
func statmText(i procInfo) []byte {
	return fmt.Appendf(nil, "%d 0 0 0 0 0 0\n", vsize(i.s)/linux.PageSize)
}

// cpuList is the list of the sandbox's CPUs, "0-N" ("0" for one).
func cpuList(n int) string {
	if n <= 1 {
		return "0"
	}
	return fmt.Sprintf("0-%d", n-1)
}

// cpuMask is the hex mask of n CPUs.
func cpuMask(n int) string {
	if n >= 64 {
		return strings.Repeat("f", 16)
	}
	return strconv.FormatUint(1<<n-1, 16)
}

// statusText is /proc/[pid]/status.
func statusText(i procInfo) []byte {
	s, th := i.s, i.th
	pid, comm, state, _, _ := forThread(s, th)
	pending, blocked := s.SigPending, s.SigBlocked
	if th != nil {
		pending, blocked = th.SigPending, th.SigBlocked
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "Name:\t%s\n", comm)
	if s.FSContext != nil {
		fmt.Fprintf(&b, "Umask:\t%04o\n", s.FSContext.Umask())
	}
	fmt.Fprintf(&b, "State:\t%s (%s)\n", state, stateNames[state])
	fmt.Fprintf(&b, "Tgid:\t%d\nNgid:\t0\nPid:\t%d\nPPid:\t%d\nTracerPid:\t0\n", s.PID, pid, s.PPID)
	if c := s.Creds; c != nil {
		fmt.Fprintf(&b, "Uid:\t%d\t%d\t%d\t%d\n", c.RealUID, c.EffectiveUID, c.SavedUID, c.FSUID)
		fmt.Fprintf(&b, "Gid:\t%d\t%d\t%d\t%d\n", c.RealGID, c.EffectiveGID, c.SavedGID, c.FSGID)
		fdSize := 64
		if s.FDTable != nil {
			for _, fd := range s.FDTable.FDs() {
				for int(fd) >= fdSize {
					fdSize *= 2
				}
			}
		}
		fmt.Fprintf(&b, "FDSize:\t%d\nGroups:\t", fdSize)
		for _, g := range c.ExtraGIDs {
			fmt.Fprintf(&b, "%d ", g)
		}
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "NStgid:\t%d\nNSpid:\t%d\nNSpgid:\t%d\nNSsid:\t%d\n", s.PID, pid, s.PGID, s.SID)
	if s.MM != nil {
		kb := vsize(s) >> 10
		for _, l := range []struct {
			name string
			kb   uint64
		}{
			{"VmPeak", kb}, {"VmSize", kb}, {"VmLck", 0}, {"VmPin", 0}, {"VmHWM", 0}, {"VmRSS", 0},
			{"RssAnon", 0}, {"RssFile", 0}, {"RssShmem", 0}, {"VmData", 0}, {"VmStk", 0},
			{"VmExe", 0}, {"VmLib", 0}, {"VmPTE", 0}, {"VmSwap", 0},
		} {
			fmt.Fprintf(&b, "%s:\t%8d kB\n", l.name, l.kb)
		}
		b.WriteString("HugetlbPages:\t       0 kB\nCoreDumping:\t0\nTHP_enabled:\t1\n")
	}
	fmt.Fprintf(&b, "Threads:\t%d\n", s.Threads)
	fmt.Fprintf(&b, "SigQ:\t%d/%d\n", countSignals(s.SigPending|s.SigShared), i.limits[linux.RLIMIT_SIGPENDING].Cur)
	fmt.Fprintf(&b, "SigPnd:\t%016x\nShdPnd:\t%016x\nSigBlk:\t%016x\nSigIgn:\t%016x\nSigCgt:\t%016x\n",
		uint64(pending), uint64(s.SigShared), uint64(blocked), uint64(s.SigIgnored), uint64(s.SigCaught))
	if c := s.Creds; c != nil {
		fmt.Fprintf(&b, "CapInh:\t%016x\nCapPrm:\t%016x\nCapEff:\t%016x\nCapBnd:\t%016x\nCapAmb:\t%016x\n",
			c.InheritableCaps, c.PermittedCaps, c.EffectiveCaps, c.BoundingCaps, c.AmbientCaps)
	}
	nnp := 0
	if i.noNewPrivs {
		nnp = 1
	}
	n := i.numCPU
	fmt.Fprintf(&b, "NoNewPrivs:\t%d\nSeccomp:\t0\nSeccomp_filters:\t0\n", nnp)
	fmt.Fprintf(&b, "Cpus_allowed:\t%s\nCpus_allowed_list:\t%s\nMems_allowed:\t1\nMems_allowed_list:\t0\n",
		cpuMask(n), cpuList(n))
	b.WriteString("voluntary_ctxt_switches:\t0\nnonvoluntary_ctxt_switches:\t0\n")
	return b.Bytes()
}

// countSignals counts the signals of a set.
func countSignals(set linux.SignalSet) int {
	n := 0
	for v := uint64(set); v != 0; v &= v - 1 {
		n++
	}
	return n
}

// limitRows are the rows of /proc/[pid]/limits: name, resource, unit.
var limitRows = []struct {
	name string
	res  int
	unit string
}{
	{"Max cpu time", linux.RLIMIT_CPU, "seconds"},
	{"Max file size", linux.RLIMIT_FSIZE, "bytes"},
	{"Max data size", linux.RLIMIT_DATA, "bytes"},
	{"Max stack size", linux.RLIMIT_STACK, "bytes"},
	{"Max core file size", linux.RLIMIT_CORE, "bytes"},
	{"Max resident set", linux.RLIMIT_RSS, "bytes"},
	{"Max processes", linux.RLIMIT_NPROC, "processes"},
	{"Max open files", linux.RLIMIT_NOFILE, "files"},
	{"Max locked memory", linux.RLIMIT_MEMLOCK, "bytes"},
	{"Max address space", linux.RLIMIT_AS, "bytes"},
	{"Max file locks", linux.RLIMIT_LOCKS, "locks"},
	{"Max pending signals", linux.RLIMIT_SIGPENDING, "signals"},
	{"Max msgqueue size", linux.RLIMIT_MSGQUEUE, "bytes"},
	{"Max nice priority", linux.RLIMIT_NICE, ""},
	{"Max realtime priority", linux.RLIMIT_RTPRIO, ""},
	{"Max realtime timeout", linux.RLIMIT_RTTIME, "us"},
}

// limitsText is /proc/[pid]/limits in Linux's table format.
func limitsText(i procInfo) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%-25s %-20s %-20s %-10s\n", "Limit", "Soft Limit", "Hard Limit", "Units")
	val := func(v uint64) string {
		if v == linux.RLimInfinity {
			return "unlimited"
		}
		return strconv.FormatUint(v, 10)
	}
	for _, r := range limitRows {
		l := i.limits[r.res]
		fmt.Fprintf(&b, "%-25s %-20s %-20s ", r.name, val(l.Cur), val(l.Max))
		if r.unit != "" {
			fmt.Fprintf(&b, "%-10s", r.unit)
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}
