package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestParseLine(t *testing.T) {
	name, value, unit, err := parseLine("noise\ngetppid 1.235 us/op\n")
	if err != nil || name != "getppid" || value != 1.235 || unit != "us/op" {
		t.Errorf("parseLine = %q %v %q %v", name, value, unit, err)
	}
	for _, bad := range []string{"", "getppid 1.2", "getppid x us/op", "a b c d"} {
		if _, _, _, err := parseLine(bad); err == nil {
			t.Errorf("parseLine(%q): want an error", bad)
		}
	}
}

func TestSlowdown(t *testing.T) {
	for _, c := range []struct {
		runc, bulwark result
		want          float64
		ok            bool
	}{
		{result{value: 2, unit: "us/op"}, result{value: 30, unit: "us/op"}, 15, true},
		{result{value: 1000, unit: "MiB/s"}, result{value: 250, unit: "MiB/s"}, 4, true},
		{result{value: 2, unit: "us/op"}, result{err: errors.New("x")}, 0, false},
		{result{value: 2, unit: "us/op"}, result{value: 2, unit: "MiB/s"}, 0, false},
		{result{value: 0, unit: "us/op"}, result{value: 2, unit: "us/op"}, 0, false},
	} {
		if got, ok := slowdown(c.runc, c.bulwark); got != c.want || ok != c.ok {
			t.Errorf("slowdown(%+v, %+v) = %v, %v; want %v, %v", c.runc, c.bulwark, got, ok, c.want, c.ok)
		}
	}
}

func TestPrintReport(t *testing.T) {
	var b bytes.Buffer
	rts := []*runtime{{name: "runc"}, {name: "bulwark"}}
	printReport(&b, rts, []row{
		{name: "getppid", results: [2]result{{value: 1.5, unit: "us/op"}, {value: 30, unit: "us/op"}}},
		{name: "file_read", results: [2]result{{value: 100, unit: "MiB/s"}, {err: errors.New("boom")}}},
	})
	out := b.String()
	for _, want := range []string{"benchmark", "getppid", "20.0x", "file_read", "error", "file_read under bulwark: boom"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}

	// A runtime that could not be built is reported once, not per row.
	b.Reset()
	broken := errors.New("build failed")
	rts[1].broken = broken
	printReport(&b, rts, []row{
		{name: "a", results: [2]result{{value: 1, unit: "us/op"}, {err: broken}}},
		{name: "b", results: [2]result{{value: 1, unit: "us/op"}, {err: broken}}},
	})
	if n := strings.Count(b.String(), "build failed"); n != 1 {
		t.Errorf("the build error appears %d times, want once:\n%s", n, b.String())
	}
}

func TestFormatValue(t *testing.T) {
	for v, want := range map[float64]string{
		63.475300000000004: "63.475",
		489.49809999999997: "489.498",
		9629:               "9629",
		1.05:               "1.05",
		0.0004:             "0",
	} {
		if got := formatValue(v); got != want {
			t.Errorf("formatValue(%v) = %q, want %q", v, got, want)
		}
	}
}

func TestRunLabel(t *testing.T) {
	for _, c := range []struct {
		args []string
		n    int
		want string
	}{
		{[]string{"/bin/true"}, 10, "run /bin/true (N=10)"},
		{[]string{"/usr/bin/python3", "-c", "pass"}, 5, "run /usr/bin/python3 -c pass (N=5)"},
		{[]string{"/bin/bash", "-c", "for i in $(seq 500); do /bin/true; done"}, 10,
			"run /bin/bash -c 'for i in $(seq 500); do /bin/true; done' (N=10)"},
		{[]string{"echo", "it's", ""}, 1, `run echo 'it'\''s' '' (N=1)`},
	} {
		if got := runLabel(c.args, c.n); got != c.want {
			t.Errorf("runLabel(%q, %d) = %q, want %q", c.args, c.n, got, c.want)
		}
	}
}
