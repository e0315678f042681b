package conformance

import (
	"fmt"
	"sort"
	"strings"
	"sync"
)

// Tally counts results per area across programs. It is safe for concurrent
// use.
type Tally struct {
	mu    sync.Mutex
	areas map[string]*AreaCount
}

// AreaCount is one area's totals.
type AreaCount struct {
	OK, NotOK int      // assertion results seen
	Programs  int      // programs run (or attempted)
	Broken    []string // programs that did not finish cleanly: why, one line each
}

// Add records one program's report; broken, when non-empty, says why the
// program as a whole failed (did not compile, crashed, timed out, ...).
func (t *Tally) Add(p Program, r Report, broken string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.areas == nil {
		t.areas = map[string]*AreaCount{}
	}
	c := t.areas[p.Area]
	if c == nil {
		c = &AreaCount{}
		t.areas[p.Area] = c
	}
	c.Programs++
	c.OK += r.Passed()
	c.NotOK += len(r.Failed())
	if broken != "" {
		c.Broken = append(c.Broken, p.Name+": "+broken)
	}
}

// Empty reports whether nothing was recorded.
func (t *Tally) Empty() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.areas) == 0
}

// Summary formats the per-area counts as a table headed by title, with a
// total line and the broken programs listed below it.
func (t *Tally) Summary(title string) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	names := make([]string, 0, len(t.areas))
	for a := range t.areas {
		names = append(names, a)
	}
	sort.Strings(names)
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n", title)
	fmt.Fprintf(&b, "  %-12s %6s %7s %9s %7s\n", "area", "ok", "not ok", "programs", "broken")
	var total AreaCount
	for _, a := range names {
		c := t.areas[a]
		fmt.Fprintf(&b, "  %-12s %6d %7d %9d %7d\n", a, c.OK, c.NotOK, c.Programs, len(c.Broken))
		total.OK += c.OK
		total.NotOK += c.NotOK
		total.Programs += c.Programs
		total.Broken = append(total.Broken, c.Broken...)
	}
	fmt.Fprintf(&b, "  %-12s %6d %7d %9d %7d\n", "total", total.OK, total.NotOK, total.Programs, len(total.Broken))
	for _, a := range names {
		for _, why := range t.areas[a].Broken {
			fmt.Fprintf(&b, "  broken %s/%s\n", a, why)
		}
	}
	return b.String()
}
