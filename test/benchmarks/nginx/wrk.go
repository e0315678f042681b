package main

import (
	"bufio"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// wrkResult is what one wrk run measured.
type wrkResult struct {
	rps    float64       // "Requests/sec:"
	p99    time.Duration // the 99% line of --latency's distribution
	errors string        // wrk's "Non-2xx" and "Socket errors" lines, if any
}

// parseWrk reads the output of `wrk --latency`.
func parseWrk(out string) (wrkResult, error) {
	var r wrkResult
	var haveRPS, haveP99 bool
	var errs []string
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 2 && f[0] == "Requests/sec:":
			v, err := strconv.ParseFloat(f[1], 64)
			if err != nil {
				return r, fmt.Errorf("parsing wrk's %q: %w", sc.Text(), err)
			}
			r.rps, haveRPS = v, true
		case len(f) == 2 && f[0] == "99%":
			d, err := parseWrkDuration(f[1])
			if err != nil {
				return r, fmt.Errorf("parsing wrk's %q: %w", sc.Text(), err)
			}
			r.p99, haveP99 = d, true
		case len(f) > 0 && (f[0] == "Non-2xx" || f[0] == "Socket"):
			errs = append(errs, strings.Join(f, " "))
		}
	}
	if !haveRPS || !haveP99 {
		return r, fmt.Errorf("no Requests/sec or 99%% latency line in wrk's output (run with --latency):\n%s", out)
	}
	r.errors = strings.Join(errs, "; ")
	return r, nil
}

// wrkUnits are the suffixes wrk prints durations with.
var wrkUnits = []struct {
	suffix string
	unit   time.Duration
}{{"us", time.Microsecond}, {"ms", time.Millisecond}, {"m", time.Minute}, {"s", time.Second}, {"h", time.Hour}}

// parseWrkDuration parses wrk's "812.00us", "3.25ms", "1.02s" or "1.50m".
func parseWrkDuration(s string) (time.Duration, error) {
	for _, u := range wrkUnits {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			v, err := strconv.ParseFloat(num, 64)
			if err != nil || v < 0 {
				return 0, fmt.Errorf("bad duration %q", s)
			}
			return time.Duration(v * float64(u.unit)), nil
		}
	}
	return 0, fmt.Errorf("duration %q has no unit", s)
}
