package cmd

import (
	"fmt"
	"strconv"
	"strings"
)

// Real-time signal range on Linux (glibc's SIGRTMIN is 34).
const (
	sigRTMin = 34
	sigRTMax = 64
)

// signalNumbers maps signal names without "SIG" to numbers (x86-64 Linux).
var signalNumbers = map[string]int{
	"HUP": 1, "INT": 2, "QUIT": 3, "ILL": 4, "TRAP": 5, "ABRT": 6, "IOT": 6,
	"BUS": 7, "FPE": 8, "KILL": 9, "USR1": 10, "SEGV": 11, "USR2": 12,
	"PIPE": 13, "ALRM": 14, "TERM": 15, "STKFLT": 16, "CHLD": 17, "CLD": 17,
	"CONT": 18, "STOP": 19, "TSTP": 20, "TTIN": 21, "TTOU": 22, "URG": 23,
	"XCPU": 24, "XFSZ": 25, "VTALRM": 26, "PROF": 27, "WINCH": 28, "IO": 29,
	"POLL": 29, "PWR": 30, "SYS": 31,
	"RTMIN": sigRTMin, "RTMAX": sigRTMax,
}

// parseSignal parses a signal given as a number ("9"), a name with or
// without "SIG" in any case ("KILL", "sigterm"), or a real-time signal
// ("RTMIN+3", "SIGRTMAX-1").
func parseSignal(s string) (int, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n < 0 || n > sigRTMax {
			return 0, fmt.Errorf("invalid signal %q: numbers go from 0 to %d", s, sigRTMax)
		}
		return n, nil
	}
	name := strings.TrimPrefix(strings.ToUpper(s), "SIG")
	if n, ok := signalNumbers[name]; ok {
		return n, nil
	}
	for _, rt := range []struct {
		prefix string
		base   int
		sign   int
	}{{"RTMIN+", sigRTMin, 1}, {"RTMAX-", sigRTMax, -1}} {
		if off, ok := strings.CutPrefix(name, rt.prefix); ok {
			k, err := strconv.Atoi(off)
			if n := rt.base + rt.sign*k; err == nil && k >= 0 && n >= sigRTMin && n <= sigRTMax {
				return n, nil
			}
		}
	}
	return 0, fmt.Errorf("invalid signal %q: use a number, a name such as TERM or SIGKILL, or RTMIN+n", s)
}
