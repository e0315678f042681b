package cmd

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"bulwark.dev/pkg/kernel"
	"bulwark.dev/runsc/config"
	"bulwark.dev/runsc/container"

	"github.com/google/subcommands"
)

// PS implements `runsc ps`.
type PS struct {
	Conf *config.Config

	format string
}

// Name implements subcommands.Command.
func (*PS) Name() string { return "ps" }

// Synopsis implements subcommands.Command.
func (*PS) Synopsis() string { return "list the processes running in a container" }

// Usage implements subcommands.Command.
func (*PS) Usage() string {
	return usageWithFlags("ps [flags] <container-id>", `
Lists the processes of a created or running container.

--format table (the default) prints the processes as the sandbox kernel
sees them, in the columns of "ps -ef": UID PID PPID C STIME TTY TIME CMD.
PID and PPID are pids inside the sandbox and UID is numeric.

--format json prints a JSON array of HOST pids, as runc does: the
processes in the container's cgroup (the sandbox process, its stub
processes running the application's code and the gofer), or, when the
spec names no cgroup, the sandbox and gofer processes and their
descendants. The application's own processes have no host pid of their
own: every one of them runs in one of these host processes. "docker top"
uses this list to pick lines of the host's "ps" output, so it shows these
host processes.

ps options after the id (runc's "runsc ps <id> -- -o pid") are not
supported.

Exit status: 0 listed, 1 error (e.g. the container is not running), 2 usage error.
`)
}

// SetFlags implements subcommands.Command.
func (p *PS) SetFlags(f *flag.FlagSet) {
	f.StringVar(&p.format, "format", "table", "output format: table or json")
	f.StringVar(&p.format, "f", "table", "short for --format")
}

// Execute implements subcommands.Command.
func (p *PS) Execute(_ context.Context, f *flag.FlagSet, _ ...any) subcommands.ExitStatus {
	if f.NArg() > 1 {
		return usageError(f, "ps options after the container id are not supported")
	}
	id, ok := oneID(f)
	if !ok {
		return errOneID(f)
	}
	if p.format != "table" && p.format != "json" {
		return usageError(f, "invalid --format %q: must be table or json", p.format)
	}
	s, err := newSession(p.Conf, id, "ps")
	if err != nil {
		return failEarly(err)
	}
	defer s.close()
	cont, err := container.Load(p.Conf.Root, id)
	if err != nil {
		return s.fail(err)
	}
	if p.format == "json" {
		pids, err := cont.HostPids()
		if err != nil {
			return s.fail(err)
		}
		if pids == nil {
			pids = []int{}
		}
		if err := json.NewEncoder(cliStdout).Encode(pids); err != nil {
			return s.fail(err)
		}
		return subcommands.ExitSuccess
	}
	ps, err := cont.Processes()
	if err != nil {
		return s.fail(err)
	}
	if err := writePS(cliStdout, ps, time.Now()); err != nil {
		return s.fail(err)
	}
	return subcommands.ExitSuccess
}

// writePS prints ps in the columns of `ps -ef`, now being the time of the
// listing.
func writePS(w io.Writer, ps []kernel.ProcessInfo, now time.Time) error {
	tw := tabwriter.NewWriter(w, 1, 1, 2, ' ', 0)
	fmt.Fprint(tw, "UID\tPID\tPPID\tC\tSTIME\tTTY\tTIME\tCMD\n")
	for _, p := range ps {
		start := time.Unix(0, p.StartTime)
		fmt.Fprintf(tw, "%d\t%d\t%d\t%d\t%s\t?\t%s\t%s\n",
			p.UID, p.PID, p.PPID, cpuPercent(p.CPUTime, now.Sub(start)), stime(start, now),
			cpuTime(time.Duration(p.CPUTime)), command(p))
	}
	return tw.Flush()
}

// cpuPercent is ps's C column: CPU time over lifetime, in percent.
func cpuPercent(cpu int64, life time.Duration) int64 {
	if life <= 0 {
		return 0
	}
	return cpu * 100 / int64(life)
}

// stime is ps's STIME column: HH:MM today, else Jan02.
func stime(start, now time.Time) string {
	if start.YearDay() == now.YearDay() && start.Year() == now.Year() {
		return start.Format("15:04")
	}
	return start.Format("Jan02")
}

// cpuTime is ps's TIME column: [DD-]HH:MM:SS.
func cpuTime(d time.Duration) string {
	s := int64(d / time.Second)
	hms := fmt.Sprintf("%02d:%02d:%02d", s/3600%24, s/60%60, s%60)
	if days := s / 86400; days > 0 {
		return strconv.FormatInt(days, 10) + "-" + hms
	}
	return hms
}

// command is ps's CMD column: the argv, or [comm] when there is none
// (a zombie).
func command(p kernel.ProcessInfo) string {
	if len(p.Args) == 0 {
		return "[" + p.Cmd + "]"
	}
	return strings.Join(p.Args, " ")
}
