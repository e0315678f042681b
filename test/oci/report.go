package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// runtimeReport is the outcome of the suite under one runtime.
type runtimeReport struct {
	rt      *ociRuntime
	results []progResult
}

// totals sums the TAP counts and counts failed and timed-out programs.
type totals struct {
	ok, notOK, skip, todo, failed, timedOut int
}

func (r runtimeReport) totals() totals {
	var t totals
	for _, p := range r.results {
		if p.refusedAsExpected() {
			t.ok++ // the one check such a program makes
		}
		t.ok += p.tap.ok
		t.notOK += p.tap.notOK
		t.skip += p.tap.skip
		t.todo += p.tap.todo
		if p.failed() {
			t.failed++
		}
		if p.timedOut {
			t.timedOut++
		}
	}
	return t
}

// printReport prints one line of totals per runtime and, when verbose, the
// failed programs and the "not ok" lines of each runtime.
func printReport(w io.Writer, reports []runtimeReport, verbose bool) {
	if verbose {
		for _, r := range reports {
			printDetails(w, r)
		}
	}
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "runtime\tprograms\tok\tnot ok\tskipped\ttodo\tprograms failed\t(timed out)\t")
	for _, r := range reports {
		if r.rt.broken != nil {
			fmt.Fprintf(tw, "%s\tnot run: %s\t\n", r.rt.name, firstLine(r.rt.broken.Error()))
			continue
		}
		t := r.totals()
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t\n", r.rt.name, len(r.results), t.ok, t.notOK, t.skip, t.todo, t.failed, t.timedOut)
	}
	tw.Flush()
	fmt.Fprintln(w, "(ok excludes skipped tests; a program fails when it times out, exits non-zero or reports fewer tests than planned;")
	fmt.Fprintln(w, " an *_fail program that exits 0 without TAP output saw create refuse its spec, and counts as one ok)")
}

// printDetails lists, for one runtime, every program that failed or
// reported "not ok", with its "not ok" lines.
func printDetails(w io.Writer, r runtimeReport) {
	fmt.Fprintf(w, "== %s\n", r.rt.name)
	for _, p := range r.results {
		if !p.failed() && p.tap.notOK == 0 && len(p.leftover) == 0 {
			continue
		}
		fmt.Fprintf(w, "%s: %d ok, %d not ok, %d skipped", p.name, p.tap.ok, p.tap.notOK, p.tap.skip)
		if p.failed() {
			fmt.Fprintf(w, "; FAILED (%s)", p.why())
			if msg := lastLines(p.stderr, 3); msg != "" {
				fmt.Fprintf(w, ": %s", msg)
			}
		}
		if len(p.leftover) > 0 {
			fmt.Fprintf(w, "; killed %d leftover processes", len(p.leftover))
		}
		fmt.Fprintln(w)
		for _, f := range p.tap.failures {
			fmt.Fprintf(w, "    %s\n", f)
		}
	}
	fmt.Fprintln(w)
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " ..."
	}
	return s
}

// lastLines joins the last n non-empty lines of s with " | ".
func lastLines(s string, n int) string {
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
