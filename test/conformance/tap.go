package conformance

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"bulwark.dev/test/testutil"
)

// Assertion is one result line of a program's output.
type Assertion struct {
	OK     bool
	Num    int
	Desc   string // the description
	Detail string // what went wrong; only for a failed assertion
}

// String formats a like the line it came from.
func (a Assertion) String() string {
	s := fmt.Sprintf("ok %d - %s", a.Num, a.Desc)
	if !a.OK {
		s = "not " + s
		if a.Detail != "" {
			s += ": " + a.Detail
		}
	}
	return s
}

// Report is a program's parsed output.
type Report struct {
	Assertions []Assertion
	Plan       int      // the N of the plan line "1..N"; -1 when there is none
	Other      []string // lines that are neither results nor the plan
}

// Failed returns the assertions that did not hold.
func (r Report) Failed() []Assertion {
	var out []Assertion
	for _, a := range r.Assertions {
		if !a.OK {
			out = append(out, a)
		}
	}
	return out
}

// Passed counts the assertions that held.
func (r Report) Passed() int {
	return len(r.Assertions) - len(r.Failed())
}

// Problems lists what is wrong with the output as a whole, beyond failed
// assertions: no plan (the program died before its end), a plan that does
// not match the results, results numbered out of order, no results.
func (r Report) Problems() []string {
	var out []string
	last := 0
	if len(r.Assertions) > 0 {
		last = r.Assertions[len(r.Assertions)-1].Num
	}
	switch {
	case r.Plan < 0 && len(r.Assertions) == 0:
		out = append(out, "no output at all: the program did not start or died at once")
	case r.Plan < 0:
		out = append(out, fmt.Sprintf("no plan line: the program died or was killed after assertion %d", last))
	case r.Plan != len(r.Assertions):
		out = append(out, fmt.Sprintf("plan 1..%d but %d results", r.Plan, len(r.Assertions)))
	case r.Plan == 0:
		out = append(out, "the program made no assertions")
	}
	for _, l := range r.Other {
		if strings.HasPrefix(l, "# BUG") {
			out = append(out, l)
		}
	}
	for i, a := range r.Assertions {
		if a.Num != i+1 {
			out = append(out, fmt.Sprintf("result %d is numbered %d (a child process may have reported)", i+1, a.Num))
			break
		}
	}
	return out
}

// ParseTAP parses a program's standard output.
func ParseTAP(out string) Report {
	r := Report{Plan: -1}
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimRight(line, "\r")
		if line == "" {
			continue
		}
		if a, ok := parseResult(line); ok {
			r.Assertions = append(r.Assertions, a)
			continue
		}
		if n, ok := parsePlan(line); ok {
			r.Plan = n
			continue
		}
		r.Other = append(r.Other, line)
	}
	return r
}

// parseResult parses "ok N - desc" and "not ok N - desc: detail".
func parseResult(line string) (Assertion, bool) {
	var a Assertion
	rest, found := strings.CutPrefix(line, "ok ")
	if found {
		a.OK = true
	} else if rest, found = strings.CutPrefix(line, "not ok "); !found {
		return a, false
	}
	num, desc, found := strings.Cut(rest, " - ")
	if !found {
		num, desc = rest, ""
	}
	n, err := strconv.Atoi(num)
	if err != nil || n <= 0 {
		return a, false
	}
	a.Num = n
	if a.OK {
		a.Desc = desc
	} else {
		a.Desc, a.Detail, _ = strings.Cut(desc, ": ")
	}
	return a, true
}

// parsePlan parses "1..N".
func parsePlan(line string) (int, bool) {
	n, found := strings.CutPrefix(line, "1..")
	if !found {
		return 0, false
	}
	v, err := strconv.Atoi(n)
	if err != nil || v < 0 {
		return 0, false
	}
	return v, true
}

// Evaluate parses the output of one program's `run` and says what is wrong
// with the run as a whole (besides failed assertions): a timeout (limit is
// the one that applied), a non-zero exit, a missing or inconsistent plan;
// the most telling problem comes first.
func Evaluate(res testutil.Result, limit time.Duration) (Report, []string) {
	rep := ParseTAP(res.Stdout)
	if res.TimedOut {
		return rep, []string{fmt.Sprintf("timed out after %v (after %d results) and was killed", limit, len(rep.Assertions))}
	}
	var broken []string
	if res.ExitCode != 0 || res.Err != nil {
		msg := fmt.Sprintf("exit status %d", res.ExitCode)
		if res.Err != nil {
			msg += fmt.Sprintf(" (%v)", res.Err)
		}
		if line := firstLine(res.Stderr); line != "" {
			msg += ": " + line
		}
		broken = append(broken, msg)
	}
	broken = append(broken, rep.Problems()...)
	return rep, broken
}

// firstLine returns the first non-empty line of s, marked when more follow.
func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " [...]"
	}
	return s
}
