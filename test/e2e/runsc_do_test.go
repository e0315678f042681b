package e2e

import (
	"os"
	"strings"
	"testing"
)

// The `do` tests run the host's static busybox: the host's own /bin/true
// and /bin/ls are dynamic binaries, which the sandbox does not run yet.

func TestDoExitStatus(t *testing.T) {
	runscOnly(t)
	for _, c := range []struct {
		args []string
		exit int
	}{
		{[]string{"/bin/busybox", "true"}, 0},
		{[]string{"/bin/busybox", "sh", "-c", "exit 7"}, 7},
	} {
		e := newEnv(t)
		r := e.runsc(append([]string{"do"}, c.args...)...)
		if r.Err != nil || r.ExitCode != c.exit {
			t.Errorf("do %q: want exit status %d, got:\n%s", c.args, c.exit, r)
		}
		e.expectEmptyRoot()
	}
}

func TestDoSeesHostRoot(t *testing.T) {
	runscOnly(t)
	e := newEnv(t)
	r := e.runsc("do", "/bin/busybox", "ls", "/")
	if r.Err != nil || r.ExitCode != 0 {
		t.Fatalf("do ls /: want exit 0, got:\n%s", r)
	}
	listed := map[string]bool{}
	for _, name := range strings.Fields(r.Stdout) {
		listed[name] = true
	}
	entries, err := os.ReadDir("/")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range entries {
		if !strings.HasPrefix(d.Name(), ".") && !listed[d.Name()] {
			t.Errorf("do ls / does not list the host's /%s; it printed:\n%s", d.Name(), r.Stdout)
		}
	}
	e.expectEmptyRoot()
}

func TestDoWritesStayInside(t *testing.T) {
	runscOnly(t)
	e := newEnv(t)
	dir := t.TempDir()
	r := e.runsc("do", "/bin/busybox", "sh", "-c", "echo inside > "+dir+"/f && /bin/busybox cat "+dir+"/f")
	if r.Stdout != "inside\n" || r.ExitCode != 0 {
		t.Errorf("do: writing and reading a file: want \"inside\\n\", got:\n%s", r)
	}
	if _, err := os.Stat(dir + "/f"); err == nil {
		t.Errorf("a file written inside `runsc do` reached the host's %s", dir)
	}
	e.expectEmptyRoot()
}
