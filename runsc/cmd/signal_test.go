package cmd

import "testing"

func TestParseSignal(t *testing.T) {
	good := map[string]int{
		"9": 9, "0": 0, "64": 64, "KILL": 9, "SIGKILL": 9, "kill": 9, "sigterm": 15,
		"TERM": 15, "HUP": 1, "SIGSYS": 31, "WINCH": 28, "USR1": 10, "SIGUSR2": 12,
		"CHLD": 17, "IOT": 6, "RTMIN": 34, "SIGRTMIN+1": 35, "RTMIN+30": 64,
		"RTMAX": 64, "RTMAX-2": 62, "SIGRTMAX-30": 34,
	}
	for in, want := range good {
		if got, err := parseSignal(in); err != nil || got != want {
			t.Errorf("parseSignal(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "65", "-1", "FOO", "SIG", "RTMIN+31", "RTMAX-31", "RTMIN+-1", "RTMIN+x", "9x"} {
		if got, err := parseSignal(in); err == nil {
			t.Errorf("parseSignal(%q) = %d, want an error", in, got)
		}
	}
}
