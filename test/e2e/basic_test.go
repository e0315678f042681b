package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// runCase is one foreground `runsc run` and what it must print and return.
type runCase struct {
	name   string
	args   []string
	stdout string
	exit   int
}

// checkRuns runs each case in its own container of one environment.
func checkRuns(t *testing.T, cases []runCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			r := e.run("c", c.args...)
			if r.Err != nil || r.Stdout != c.stdout || r.ExitCode != c.exit {
				t.Errorf("run %q: want stdout %q and exit status %d, got:\n%s", c.args, c.stdout, c.exit, r)
			}
			e.expectEmptyRoot()
		})
	}
}

func TestRunExitStatus(t *testing.T) {
	checkRuns(t, []runCase{
		{"echo", []string{"echo", "hello"}, "hello\n", 0},
		{"exit3", []string{"sh", "-c", "exit 3"}, "", 3},
		// The inner shell dies of SIGKILL; the outer one reports 128+9. (A
		// container's init, pid 1, would ignore a SIGKILL it sends itself,
		// as under Linux and runc.)
		{"killed", []string{"sh", "-c", `sh -c 'kill -9 $$'; exit $?`}, "", 137},
		{"false", []string{"false"}, "", 1},
	})
}

func TestUnameRelease(t *testing.T) {
	runscOnly(t)
	e := newEnv(t)
	r := e.run("c", "uname", "-r")
	if r.Stdout != "5.15.0-bulwark\n" || r.ExitCode != 0 {
		t.Errorf("uname -r in the sandbox: want \"5.15.0-bulwark\\n\", got:\n%s", r)
	}
	if host, err := exec.Command("uname", "-r").Output(); err == nil && r.Stdout == string(host) {
		t.Errorf("uname -r printed the host's release %q", host)
	}
}

func TestShell(t *testing.T) {
	checkRuns(t, []runCase{
		{"pipe", []string{"sh", "-c", "echo a b c | wc -w"}, "3\n", 0},
		{"substitution", []string{"sh", "-c", "echo $(echo sub)"}, "sub\n", 0},
		{"exec", []string{"sh", "-c", "/bin/echo one; exec /bin/echo two"}, "one\ntwo\n", 0},
		{"script", []string{"sh", "-c", `printf '#!/bin/sh\necho script $1\nexit 4\n' > /tmp/s; chmod +x /tmp/s; /tmp/s arg`}, "script arg\n", 4},
		{"trap", []string{"sh", "-c", `sh -c 'trap "echo caught; exit 5" TERM; kill -TERM $$; sleep 5'; echo status $?`}, "caught\nstatus 5\n", 0},
		{"background", []string{"sh", "-c", "sleep 0.1 & wait $!; echo waited $?"}, "waited 0\n", 0},
		{"redirect", []string{"sh", "-c", "echo gone 2>/dev/null >&2; echo out 2>&1 | cat"}, "out\n", 0},
		{"ls", []string{"ls", "/"}, "bin\ndev\netc\nproc\nroot\nsys\ntmp\n", 0},
		{"cwd", []string{"sh", "-c", "cd /etc && pwd && cat group | head -n 1"}, "/etc\nroot:x:0:\n", 0},
	})
}

func TestDevices(t *testing.T) {
	checkRuns(t, []runCase{
		{"null", []string{"sh", "-c", "echo gone > /dev/null; wc -c < /dev/null"}, "0\n", 0},
		{"zero", []string{"sh", "-c", "head -c 4096 /dev/zero | tr -d '\\000' | wc -c; head -c 10 /dev/zero | wc -c"}, "0\n10\n", 0},
		{"urandom", []string{"sh", "-c", "head -c 16 /dev/urandom | wc -c"}, "16\n", 0},
	})
}

func TestStrace(t *testing.T) {
	runscOnly(t)
	e := newEnv(t, "--strace")
	r := e.run("c", "sh", "-c", "/bin/echo hi")
	if r.Stdout != "hi\n" || r.ExitCode != 0 {
		t.Fatalf("run with --strace: want \"hi\\n\", got:\n%s", r)
	}
	logs, _ := filepath.Glob(filepath.Join(e.logs, "*boot*"))
	if len(logs) == 0 {
		all, _ := filepath.Glob(filepath.Join(e.logs, "*"))
		t.Fatalf("no boot debug log under %s; files: %v", e.logs, all)
	}
	var text strings.Builder
	for _, p := range logs {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		text.Write(data)
	}
	for _, re := range []*regexp.Regexp{
		regexp.MustCompile(`execve\(.*"/bin/echo"`),
		regexp.MustCompile(`write\((0x)?1\b.*"hi`),
	} {
		if !re.MatchString(text.String()) {
			t.Errorf("boot log %v has no line matching %q", logs, re)
		}
	}
}
