package main

import (
	"bytes"
	"strings"
	"testing"
)

func runsc(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	st := run(append([]string{"--root", t.TempDir()}, args...), &out, &errb)
	return st, out.String(), errb.String()
}

func TestGlobalFlags(t *testing.T) {
	tests := []struct {
		args   []string
		status int
		stdout string // prefix
		stderr string // prefix
	}{
		{[]string{"--version"}, 0, "runsc version ", ""},
		{[]string{"version"}, 0, "runsc version ", ""},
		{[]string{"--rootless", "list"}, 1, "", "runsc: --rootless is not supported yet: run runsc as root\n"},
		{[]string{"--systemd-cgroup", "list"}, 1, "", "runsc: --systemd-cgroup is not supported yet"},
		{[]string{"--log-format", "xml", "list"}, 1, "", `runsc: invalid --log-format "xml"`},
		{[]string{"--no-such-flag", "list"}, 2, "", "flag provided but not defined: -no-such-flag"},
		{[]string{"no-such-command"}, 2, "", "Usage: runsc"},
		{nil, 2, "", "Usage: runsc"},
		{[]string{"state"}, 2, "", "runsc state: expected exactly one container id"},
		{[]string{"state", "x"}, 1, "", "runsc: container \"x\" does not exist\n"},
		{[]string{"list", "-q"}, 0, "", ""},
	}
	for _, tt := range tests {
		st, out, errs := runsc(t, tt.args...)
		if st != tt.status || !strings.HasPrefix(out, tt.stdout) || !strings.HasPrefix(errs, tt.stderr) {
			t.Errorf("runsc %q = %d, stdout %q, stderr %q; want %d, %q..., %q...",
				tt.args, st, out, errs, tt.status, tt.stdout, tt.stderr)
		}
	}
}

func TestHelpForEveryCommand(t *testing.T) {
	st, out, _ := runsc(t, "help")
	if st != 0 {
		t.Fatalf("help: status %d", st)
	}
	for _, name := range []string{"create", "start", "run", "state", "kill", "delete", "list", "wait", "spec", "do", "version", "boot", "gofer"} {
		if !strings.Contains(out, "\t"+name+" ") {
			t.Errorf("help does not list %s", name)
		}
		st, text, errs := runsc(t, "help", name)
		if st != 0 || !strings.HasPrefix(text, name) || len(text) < 100 {
			t.Errorf("help %s: status %d, text %q, stderr %q", name, st, text, errs)
		}
	}
}
