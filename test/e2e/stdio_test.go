package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestStdioRegularFile runs a container whose stdout and stderr are one
// regular file that already holds data and that the caller writes to
// before and after: the container's output must land between, in order,
// as if the application had written to the host fd itself (the host's
// offset, shared by every holder of the open file, and O_APPEND).
func TestStdioRegularFile(t *testing.T) {
	for _, c := range []struct {
		name  string
		flags int
	}{
		{"shared offset", os.O_WRONLY},
		{"append", os.O_WRONLY | os.O_APPEND},
	} {
		t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
			e := newEnv(t)
			path := filepath.Join(t.TempDir(), "out")
			if err := os.WriteFile(path, []byte("existing\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			f, err := os.OpenFile(path, c.flags, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := f.Seek(0, 2); err != nil {
				t.Fatal(err)
			}
			if _, err := f.WriteString("before\n"); err != nil {
				t.Fatal(err)
			}
			e.track("c")
			bundle := e.bundle("sh", "-c", "echo a; echo b >&2; echo c")
			ctx, cancel := context.WithTimeout(context.Background(), *cmdTimeout)
			defer cancel()
			cmd := exec.CommandContext(ctx, e.rt.Bin, append(append([]string(nil), e.rt.Global...), "run", "--bundle", bundle, "c")...)
			cmd.Stdout, cmd.Stderr = f, f
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
			if err := cmd.Run(); err != nil {
				data, _ := os.ReadFile(path)
				t.Fatalf("runsc run: %v (timed out: %v); the file holds:\n%s", err, ctx.Err() != nil, data)
			}
			if _, err := f.WriteString("after\n"); err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if want := "existing\nbefore\na\nb\nc\nafter\n"; string(data) != want {
				t.Errorf("the file holds %q, want %q", data, want)
			}
			e.expectEmptyRoot()
		})
	}
}
