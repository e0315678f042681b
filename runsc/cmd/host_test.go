package cmd

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"bulwark.dev/pkg/kernel"

	"github.com/google/subcommands"
)

func TestInstallUninstall(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "docker", "daemon.json")
	orig := `{"log-driver": "json-file", "default-ulimits": {"nofile": {"Hard": 64000, "Name": "nofile", "Soft": 64000}},
 "runtimes": {"other": {"path": "/usr/bin/other"}}, "big": 12345678901234567890}`
	if err := os.MkdirAll(filepath.Dir(cfg), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, []byte(orig), 0o600); err != nil {
		t.Fatal(err)
	}
	st, out, errs := execute(t, &Install{}, "--config", cfg, "--path", "/usr/local/bin/runsc", "--", "--debug", "--network=none")
	if st != subcommands.ExitSuccess || !strings.Contains(out, "systemctl reload docker") {
		t.Fatalf("install: %d %q %q", st, out, errs)
	}
	want := `{
  "big": 12345678901234567890,
  "default-ulimits": {
    "nofile": {
      "Hard": 64000,
      "Name": "nofile",
      "Soft": 64000
    }
  },
  "log-driver": "json-file",
  "runtimes": {
    "other": {
      "path": "/usr/bin/other"
    },
    "runsc": {
      "path": "/usr/local/bin/runsc",
      "runtimeArgs": [
        "--debug",
        "--network=none"
      ]
    }
  }
}
`
	if got, _ := os.ReadFile(cfg); string(got) != want {
		t.Errorf("after install:\n%s\nwant:\n%s", got, want)
	}
	if fi, _ := os.Stat(cfg); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600 kept", fi.Mode())
	}

	st, out, _ = execute(t, &Uninstall{}, "--config", cfg)
	if st != subcommands.ExitSuccess || !strings.Contains(out, "SIGHUP") {
		t.Fatalf("uninstall: %d %q", st, out)
	}
	got, _ := os.ReadFile(cfg)
	if strings.Contains(string(got), "runsc") || !strings.Contains(string(got), `"other"`) || !strings.Contains(string(got), "12345678901234567890") {
		t.Errorf("after uninstall:\n%s", got)
	}
	if st, _, errs := execute(t, &Uninstall{}, "--config", cfg); st != subcommands.ExitFailure || !strings.Contains(errs, "nothing to uninstall") {
		t.Errorf("second uninstall: %d %q", st, errs)
	}
	// Removing the last runtime removes "runtimes".
	execute(t, &Uninstall{}, "--config", cfg, "--runtime", "other")
	if got, _ := os.ReadFile(cfg); strings.Contains(string(got), "runtimes") {
		t.Errorf("empty runtimes kept:\n%s", got)
	}
}

func TestInstallNewAndInvalid(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "new.json")
	if st, _, errs := execute(t, &Install{}, "--config", cfg, "--runtime", "bw"); st != subcommands.ExitSuccess {
		t.Fatalf("install into a missing file: %d %q", st, errs)
	}
	exe, _ := os.Executable()
	if got, _ := os.ReadFile(cfg); !strings.Contains(string(got), `"bw": {`+"\n"+`      "path": "`+exe+`"`) {
		t.Errorf("new file:\n%s", got)
	}
	bad := filepath.Join(dir, "bad.json")
	for _, content := range []string{`{"a": 1,}`, `[1]`, `{} {}`, `null`} {
		os.WriteFile(bad, []byte(content), 0o644)
		st, _, errs := execute(t, &Install{}, "--config", bad)
		if st != subcommands.ExitFailure || !strings.Contains(errs, "is not a valid JSON object") || strings.Count(errs, "\n") != 1 {
			t.Errorf("install over %q: %d %q", content, st, errs)
		}
		if got, _ := os.ReadFile(bad); string(got) != content {
			t.Errorf("invalid file was changed to %q", got)
		}
	}
	os.WriteFile(bad, []byte(`{"runtimes": 3}`), 0o644)
	if st, _, errs := execute(t, &Install{}, "--config", bad); st != subcommands.ExitFailure || !strings.Contains(errs, "not a JSON object") {
		t.Errorf("install over runtimes=3: %d %q", st, errs)
	}
	if st, _, _ := execute(t, &Install{}, "--config", cfg, "stray"); st != subcommands.ExitUsageError {
		t.Errorf("install with a stray argument: %d, want 2", st)
	}
}

func TestWritePS(t *testing.T) {
	now := time.Date(2024, 5, 6, 12, 0, 0, 0, time.Local)
	ps := []kernel.ProcessInfo{
		{PID: 1, UID: 0, StartTime: now.Add(-10 * time.Second).UnixNano(), CPUTime: int64(5 * time.Second), Cmd: "sh", Args: []string{"sh", "-c", "sleep 100"}},
		{PID: 7, PPID: 1, UID: 1000, StartTime: now.Add(-50 * time.Hour).UnixNano(), CPUTime: int64(26*time.Hour + 61*time.Second), Cmd: "zz"},
	}
	var b bytes.Buffer
	if err := writePS(&b, ps, now); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	want := [][]string{
		{"UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"},
		{"0", "1", "0", "50", "11:59", "?", "00:00:05", "sh", "-c", "sleep", "100"},
		{"1000", "7", "1", "52", "May04", "?", "1-02:01:01", "[zz]"},
	}
	for i, w := range want {
		if got := strings.Fields(lines[i]); strings.Join(got, " ") != strings.Join(w, " ") {
			t.Errorf("line %d = %q, want %q", i, got, w)
		}
	}
}
