package userland

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// psScript runs two sleeps in the background, waits with shell builtins
// until both have exec'd sleep (before that, ps shows a copy of the shell),
// lists the processes with `ps aux`, then ends the sleeps.
const psScript = `sleep 30 & a=$!; sleep 31 & b=$!; ` +
	`until read -r x </proc/$a/comm && read -r y </proc/$b/comm && [ "$x$y" = sleepsleep ]; do :; done; ` +
	`ps aux; kill %1 %2; wait`

// checkPsAux checks `ps aux` output of psScript lists exactly the sandbox's
// own processes: the shell as pid 1, both sleeps and ps itself, all root.
func checkPsAux(out string) error {
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	wantHeader := []string{"USER", "PID", "%CPU", "%MEM", "VSZ", "RSS", "TTY", "STAT", "START", "TIME", "COMMAND"}
	if !slices.Equal(strings.Fields(lines[0]), wantHeader) {
		return fmt.Errorf("header %q, want the fields %q", lines[0], wantHeader)
	}
	var cmds []string
	pid1 := ""
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) < 11 {
			return fmt.Errorf("short line %q", l)
		}
		if f[0] != "root" {
			return fmt.Errorf("user %q in %q, want root", f[0], l)
		}
		cmd := strings.Join(f[10:], " ")
		if f[1] == "1" {
			pid1 = cmd
		}
		cmds = append(cmds, cmd)
	}
	slices.Sort(cmds)
	want := []string{"/bin/bash -c " + psScript, "ps aux", "sleep 30", "sleep 31"}
	if !slices.Equal(cmds, want) {
		return fmt.Errorf("commands %q, want exactly %q", cmds, want)
	}
	if pid1 != want[0] {
		return fmt.Errorf("pid 1 runs %q, want %q", pid1, want[0])
	}
	return nil
}

func TestPs(t *testing.T) {
	runCases(t, []scriptCase{
		{name: "ps aux", script: psScript, check: checkPsAux},
		{name: "ps -o", script: `sleep 30 & ps -o pid=,ppid=,comm= -p 1,$!; kill %1; ps -o comm= -p $$; true`,
			check: func(out string) error {
				var got [][]string
				for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
					got = append(got, strings.Fields(l))
				}
				if len(got) != 3 || !slices.Equal(got[0], []string{"1", "0", "bash"}) ||
					len(got[1]) != 3 || got[1][1] != "1" || got[1][2] != "sleep" || !slices.Equal(got[2], []string{"bash"}) {
					return fmt.Errorf("want \"1 0 bash\", \"<pid> 1 sleep\", \"bash\"")
				}
				return nil
			}},
		{name: "pgrep pkill", script: `sleep 30 & pgrep -x sleep >/dev/null && echo found; pkill -x sleep; wait $!; echo $?; pgrep -x sleep || echo none`,
			want: "found\n143\nnone\n"},
		{name: "free uptime", script: `free -b | head -1 | awk '{print $1, $2}'; free | awk '$1=="Mem:" && $2 > 0 {print "mem ok"}'; uptime | grep -q 'load average' && echo uptime ok`,
			want: "total used\nmem ok\nuptime ok\n"},
	})
}
