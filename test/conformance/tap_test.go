package conformance

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"bulwark.dev/test/testutil"
)

func TestParseTAP(t *testing.T) {
	out := "ok 1 - first thing\n" +
		"# a comment\n" +
		"not ok 2 - second thing: got 3, want 4: really (x.c:9)\n" +
		"ok 3 - third: with colon-free detail\n" +
		"1..3\n"
	r := ParseTAP(out)
	want := []Assertion{
		{OK: true, Num: 1, Desc: "first thing"},
		{OK: false, Num: 2, Desc: "second thing", Detail: "got 3, want 4: really (x.c:9)"},
		{OK: true, Num: 3, Desc: "third: with colon-free detail"},
	}
	if !reflect.DeepEqual(r.Assertions, want) {
		t.Errorf("assertions:\n got %+v\nwant %+v", r.Assertions, want)
	}
	if r.Plan != 3 {
		t.Errorf("plan: got %d, want 3", r.Plan)
	}
	if !reflect.DeepEqual(r.Other, []string{"# a comment"}) {
		t.Errorf("other lines: got %q", r.Other)
	}
	if f := r.Failed(); len(f) != 1 || f[0].Num != 2 || r.Passed() != 2 {
		t.Errorf("failed %+v, passed %d: want only #2 failed and 2 passed", f, r.Passed())
	}
	if p := r.Problems(); len(p) != 0 {
		t.Errorf("problems of complete output: %q", p)
	}
	if got := r.Assertions[1].String(); got != "not ok 2 - second thing: got 3, want 4: really (x.c:9)" {
		t.Errorf("String of a failure: %q", got)
	}
}

func TestParseTAPRejectsLookalikes(t *testing.T) {
	r := ParseTAP("okay 1 - no\nok x - no\nnot ok -1 - no\n1..x\nok 1\n")
	if len(r.Assertions) != 1 || r.Assertions[0].Num != 1 || !r.Assertions[0].OK {
		t.Errorf("want only the bare \"ok 1\" parsed, got %+v", r.Assertions)
	}
	if r.Plan != -1 || len(r.Other) != 4 {
		t.Errorf("want no plan and 4 other lines, got plan %d other %q", r.Plan, r.Other)
	}
}

func TestProblems(t *testing.T) {
	for _, c := range []struct {
		name, out, want string
	}{
		{"empty", "", "no output at all"},
		{"crashed", "ok 1 - a\nok 2 - b\n", "after assertion 2"},
		{"short plan", "ok 1 - a\n1..2\n", "plan 1..2 but 1 results"},
		{"nothing", "1..0\n", "no assertions"},
		{"numbering", "ok 1 - a\nok 1 - b\n1..2\n", "numbered 1"},
		{"child", "ok 1 - a\n# BUG: assertion 'x' reported from a child process (c.c:3)\n1..1\n", "# BUG: assertion 'x'"},
	} {
		p := strings.Join(ParseTAP(c.out).Problems(), "; ")
		if !strings.Contains(p, c.want) {
			t.Errorf("%s: problems %q do not mention %q", c.name, p, c.want)
		}
	}
}

func TestTallySummary(t *testing.T) {
	var tl Tally
	if !tl.Empty() {
		t.Fatal("a new tally is not empty")
	}
	tl.Add(Program{Area: "files", Name: "a"}, ParseTAP("ok 1 - x\nnot ok 2 - y\n1..2\n"), "")
	tl.Add(Program{Area: "files", Name: "b"}, ParseTAP("ok 1 - x\n"), "no plan line")
	tl.Add(Program{Area: "misc", Name: "c"}, Report{Plan: -1}, "does not compile")
	s := tl.Summary("title")
	for _, want := range []string{
		"title\n",
		"  files             2       1         2       1\n",
		"  misc              0       0         1       1\n",
		"  total             2       1         3       2\n",
		"  broken files/b: no plan line\n",
		"  broken misc/c: does not compile\n",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("summary lacks %q:\n%s", want, s)
		}
	}
}

func TestEvaluate(t *testing.T) {
	const full = "ok 1 - a\nnot ok 2 - b: why\n1..2\n"
	for _, c := range []struct {
		name   string
		res    testutil.Result
		failed int
		broken string // substring of the joined problems; "" means none
	}{
		{"clean", testutil.Result{Stdout: full}, 1, ""},
		{"timeout", testutil.Result{Stdout: "ok 1 - a\n", TimedOut: true, ExitCode: -1}, 0, "timed out after 30s (after 1 results)"},
		{"crash", testutil.Result{Stdout: "ok 1 - a\n", ExitCode: 139, Stderr: "segfault\nmore"}, 0, "exit status 139: segfault [...]"},
		{"exit", testutil.Result{Stdout: full, ExitCode: 3}, 1, "exit status 3"},
		{"runtime error", testutil.Result{ExitCode: 1, Stderr: "runsc: cannot start"}, 0, "no output at all"},
	} {
		rep, broken := Evaluate(c.res, 30*time.Second)
		got := strings.Join(broken, "; ")
		if len(rep.Failed()) != c.failed {
			t.Errorf("%s: %d failed assertions, want %d", c.name, len(rep.Failed()), c.failed)
		}
		if (c.broken == "") != (got == "") || !strings.Contains(got, c.broken) {
			t.Errorf("%s: problems %q, want %q", c.name, got, c.broken)
		}
	}
}
