package userland

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// matchLines checks stdout, with the terminal's CR LF line ends turned
// into LF, against a regular expression.
func matchLines(pattern string) func(string) error {
	re := regexp.MustCompile(pattern)
	return func(out string) error {
		if s := strings.ReplaceAll(out, "\r\n", "\n"); !re.MatchString(s) {
			return fmt.Errorf("want stdout (CR LF as LF) matching %q", pattern)
		}
		return nil
	}
}

// Pseudo-terminals the container makes itself (/dev/ptmx and /dev/pts),
// and /dev/tty.
func TestPty(t *testing.T) {
	runCases(t, []scriptCase{
		{name: "script", script: `script -qc 'tty; echo hi; echo via-tty >/dev/tty' /dev/null`,
			check: matchLines(`^/dev/pts/\d+\nhi\nvia-tty\n$`)},
		{name: "openpty", script: pyScript(`import os, tty
m, s = os.openpty()
print(os.ttyname(s).startswith("/dev/pts/"), os.isatty(m), os.isatty(s))
os.write(m, b"hello\n")
print(os.read(s, 100), os.read(m, 100))
os.write(s, b"out\n")
print(os.read(m, 100))
tty.setraw(s)
os.write(m, b"\x03")
print(os.read(s, 100))
os.close(s)
try:
    os.read(m, 10)
except OSError as e:
    print("errno", e.errno)`),
			want: "True True True\nb'hello\\n' b'hello\\r\\n'\nb'out\\r\\n'\nb'\\x03'\nerrno 5\n"},
		{name: "pty spawn", script: `python3 -c 'import pty; pty.spawn(["sh", "-c", "tty; echo spawned"])'`,
			check: matchLines(`^/dev/pts/\d+\nspawned\n$`)},
		{name: "interrupt", script: pyScript(`import os, pty
pid, fd = pty.fork()
if pid == 0:
    os.execvp("sh", ["sh", "-c", 'trap "echo got INT; exit 3" INT; echo ready; while :; do sleep 0.1; done'])
buf = b""
while b"ready" not in buf:
    buf += os.read(fd, 100)
os.write(fd, b"\x03")
out = b""
try:
    while True:
        d = os.read(fd, 100)
        if not d:
            break
        out += d
except OSError:
    pass
_, st = os.waitpid(pid, 0)
print(b"got INT" in out, os.waitstatus_to_exitcode(st))`),
			want: "True 3\n"},
		{name: "no controlling terminal", script: `setsid bash -c 'echo x >/dev/tty' 2>&1 | sed 's/.*: //'`,
			want: "No such device or address\n"},
	})
}
