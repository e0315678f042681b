package main

import (
	"reflect"
	"testing"
)

func TestParseTAP(t *testing.T) {
	out := `TAP version 13
ok 1 - has expected hostname
  ---
  {
  "stdout": "not ok 1 - nested, must not count\nok 2 - nested\n"
  }
  ...
not ok 2 - mounts[2] (/dev/pts) found
ok 3 # SKIP linux.gidMappings not set
ok 4 # skip lower-case directive
not ok 5 # TODO not done yet
ok 6 - description with # hash but no directive
# a comment
1..6
`
	got := parseTAP(out)
	want := tapResult{
		ok: 2, notOK: 1, skip: 2, todo: 1, planned: 6,
		failures: []string{"not ok 2 - mounts[2] (/dev/pts) found"},
		last:     "ok 6 - description with # hash but no directive",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parseTAP = %+v, want %+v", got, want)
	}
	if got.reported() != 6 {
		t.Errorf("reported() = %d, want 6", got.reported())
	}
}

func TestParseTAPPlanAndBailOut(t *testing.T) {
	for _, tc := range []struct {
		name, out     string
		planned       int
		bailOut       string
		ok, notOK     int
		wantIncomplet bool
	}{
		{name: "no plan", out: "ok 1 - a\n", planned: -1, ok: 1},
		{name: "plan first", out: "1..2\nok 1 - a\nnot ok 2 - b\n", planned: 2, ok: 1, notOK: 1},
		{name: "skip all", out: "1..0 # SKIP no cgroups\n", planned: 0},
		{name: "short", out: "1..3\nok 1\n", planned: 3, ok: 1, wantIncomplet: true},
		{name: "bail out", out: "1..2\nBail out! runtime missing\n", planned: 2, bailOut: "runtime missing", wantIncomplet: true},
	} {
		got := parseTAP(tc.out)
		if got.planned != tc.planned || got.bailOut != tc.bailOut || got.ok != tc.ok || got.notOK != tc.notOK {
			t.Errorf("%s: parseTAP = %+v", tc.name, got)
		}
		p := progResult{tap: got}
		if tc.planned >= 0 && p.failed() != tc.wantIncomplet {
			t.Errorf("%s: failed() = %v, want %v", tc.name, p.failed(), tc.wantIncomplet)
		}
	}
}

func TestProgResultFailed(t *testing.T) {
	good := tapResult{ok: 1, planned: 1}
	for _, tc := range []struct {
		p    progResult
		want bool
		why  string
	}{
		{progResult{tap: good}, false, ""},
		{progResult{tap: good, exitCode: 1}, true, "exit 1"},
		{progResult{tap: good, timedOut: true, exitCode: -1}, true, "timed out"},
		{progResult{tap: tapResult{ok: 1, planned: -1, last: "ok 1"}}, true, `no TAP plan; output stops after "ok 1"`},
		{progResult{tap: tapResult{planned: -1}}, true, "no TAP output"},
		// An _fail program passes silently when create refused its spec...
		{progResult{name: "process_rlimits_fail", tap: tapResult{planned: -1}}, false, ""},
		// ... and exits 1 when the runtime ran the container.
		{progResult{name: "process_rlimits_fail", exitCode: 1, tap: tapResult{planned: -1}}, true, "exit 1"},
		{progResult{name: "process_rlimits_fail", tap: tapResult{ok: 3, planned: 3}}, false, ""},
	} {
		if got := tc.p.failed(); got != tc.want {
			t.Errorf("%+v: failed() = %v, want %v", tc.p, got, tc.want)
		}
		if tc.want && tc.p.why() != tc.why {
			t.Errorf("%+v: why() = %q, want %q", tc.p, tc.p.why(), tc.why)
		}
	}
}

func TestRefusedAsExpectedCountsOneOK(t *testing.T) {
	r := runtimeReport{results: []progResult{
		{name: "process_capabilities_fail", tap: tapResult{planned: -1}},
		{name: "start", tap: tapResult{ok: 2, notOK: 1, planned: 3}},
		{name: "other", tap: tapResult{planned: -1}},
	}}
	if got := r.totals(); got.ok != 3 || got.notOK != 1 || got.failed != 1 {
		t.Errorf("totals = %+v, want 3 ok, 1 not ok, 1 failed program", got)
	}
}

func TestUnescapeMount(t *testing.T) {
	if got := unescapeMount(`/tmp/a\040b\\c`); got != `/tmp/a b\\c` {
		t.Errorf("unescapeMount = %q", got)
	}
	if got := unescapeMount(`/x\04`); got != `/x\04` {
		t.Errorf("unescapeMount of a short escape = %q", got)
	}
}
