package main

import (
	"bufio"
	"strconv"
	"strings"
)

// tapResult is what one TAP stream reported.
type tapResult struct {
	ok, notOK, skip, todo int
	planned               int      // from the "1..N" line; -1 when there is none
	failures              []string // the "not ok" lines, as printed
	bailOut               string   // the "Bail out!" reason, if any
	last                  string   // the last test line, to show where a stream stopped
}

// parseTAP reads a TAP (version 13) stream. Only unindented lines count:
// indented lines belong to YAML diagnostics, which may quote the TAP output
// of a nested program (runtimetest) verbatim. A skipped test ("ok N # SKIP")
// counts as skip, not ok; a "not ok N # TODO" counts as todo, not as a
// failure.
func parseTAP(out string) tapResult {
	r := tapResult{planned: -1}
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.HasPrefix(line, "ok") || strings.HasPrefix(line, "not ok") {
			r.last = line
		}
		switch {
		case strings.HasPrefix(line, "not ok"):
			if directive(line) == "todo" {
				r.todo++
				continue
			}
			r.notOK++
			r.failures = append(r.failures, line)
		case strings.HasPrefix(line, "ok"):
			if directive(line) == "skip" {
				r.skip++
				continue
			}
			r.ok++
		case strings.HasPrefix(line, "1.."):
			if n, ok := planCount(line); ok {
				r.planned = n
			}
		case strings.HasPrefix(line, "Bail out!"):
			r.bailOut = strings.TrimSpace(strings.TrimPrefix(line, "Bail out!"))
		}
	}
	return r
}

// directive returns "skip" or "todo" when a test line carries that TAP
// directive ("# SKIP ...", "# todo ..."), and "" otherwise.
func directive(line string) string {
	i := strings.Index(line, "#")
	if i < 0 {
		return ""
	}
	d := strings.ToLower(strings.TrimSpace(line[i+1:]))
	for _, name := range []string{"skip", "todo"} {
		if strings.HasPrefix(d, name) {
			return name
		}
	}
	return ""
}

// planCount parses a plan line "1..N" (optionally followed by a comment).
func planCount(line string) (int, bool) {
	s := strings.TrimPrefix(line, "1..")
	if i := strings.IndexAny(s, " #"); i >= 0 {
		s = s[:i]
	}
	n, err := strconv.Atoi(s)
	return n, err == nil && n >= 0
}

// reported is the number of test lines the stream printed.
func (r tapResult) reported() int { return r.ok + r.notOK + r.skip + r.todo }
