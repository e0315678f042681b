package main

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
)

// row is one benchmark's results, one per runtime (runc, bulwark).
type row struct {
	name    string
	results [2]result
}

// parseLine parses the last non-empty line of a benchmark's output:
// "name value unit".
func parseLine(out string) (name string, value float64, unit string, err error) {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	last := lines[len(lines)-1]
	f := strings.Fields(last)
	if len(f) != 3 {
		return "", 0, "", fmt.Errorf("want a line \"name value unit\", got %q", last)
	}
	value, err = strconv.ParseFloat(f[1], 64)
	if err != nil {
		return "", 0, "", fmt.Errorf("bad value in %q: %w", last, err)
	}
	return f[0], value, f[2], nil
}

// slowdown returns how many times slower bulwark is than runc: the ratio
// of times (bulwark/runc), or for throughputs (units "…/s") runc/bulwark.
func slowdown(runc, bulwark result) (float64, bool) {
	if runc.err != nil || bulwark.err != nil || runc.unit != bulwark.unit || runc.value <= 0 || bulwark.value <= 0 {
		return 0, false
	}
	if strings.HasSuffix(runc.unit, "/s") {
		return runc.value / bulwark.value, true
	}
	return bulwark.value / runc.value, true
}

// formatValue prints v rounded to at most three decimals, without
// trailing zeros: 63.4753000004 → "63.475", 9629 → "9629".
func formatValue(v float64) string {
	return strconv.FormatFloat(math.Round(v*1000)/1000, 'f', -1, 64)
}

// printReport writes the table and then every error in full.
func printReport(w io.Writer, runtimes []*runtime, rows []row) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "benchmark\tunit\t%s\t%s\tslowdown\t\n", runtimes[0].name, runtimes[1].name)
	var errs []string
	for _, rt := range runtimes {
		if rt.broken != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", rt.name, rt.broken))
		}
	}
	for _, r := range rows {
		unit := r.results[0].unit
		if unit == "" {
			unit = r.results[1].unit
		}
		cells := make([]string, len(r.results))
		for i, res := range r.results {
			if res.err != nil {
				cells[i] = "error"
				if res.err != runtimes[i].broken {
					errs = append(errs, fmt.Sprintf("%s under %s: %v", r.name, runtimes[i].name, res.err))
				}
				continue
			}
			cells[i] = formatValue(res.value)
		}
		ratio := "-"
		if s, ok := slowdown(r.results[0], r.results[1]); ok {
			ratio = fmt.Sprintf("%.1fx", s)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t\n", r.name, unit, cells[0], cells[1], ratio)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nslowdown: how many times slower %s is than %s (time %s/%s; for MiB/s, %s/%s).\n",
		runtimes[1].name, runtimes[0].name, runtimes[1].name, runtimes[0].name, runtimes[0].name, runtimes[1].name)
	if len(errs) > 0 {
		fmt.Fprintln(w, "\nerrors:")
		for _, e := range errs {
			fmt.Fprintln(w, "  "+e)
		}
	}
}

// runLabel names a startup row: "run " and args as a shell would need
// them typed, then the number of timed runs.
func runLabel(args []string, n int) string {
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = shellQuote(a)
	}
	return fmt.Sprintf("run %s (N=%d)", strings.Join(quoted, " "), n)
}

// shellQuote returns s unchanged when a POSIX shell would read it as one
// word as is, and otherwise in single quotes, each quote inside closing
// them, escaped (\') and reopening them.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-+=/.,:@%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
