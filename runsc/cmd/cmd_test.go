package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"bulwark.dev/runsc/config"
	"bulwark.dev/runsc/container"

	"github.com/google/subcommands"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// execute runs command c with args the way the commander does and returns
// its exit status, stdout and stderr.
func execute(t *testing.T, c subcommands.Command, args ...string) (subcommands.ExitStatus, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	SetOutput(&out, &errb)
	t.Cleanup(func() { SetOutput(os.Stdout, os.Stderr) })
	f := flag.NewFlagSet(c.Name(), flag.ContinueOnError)
	f.SetOutput(&errb)
	f.Usage = func() { errb.WriteString(c.Usage()) }
	c.SetFlags(f)
	if err := f.Parse(args); err != nil {
		return subcommands.ExitUsageError, out.String(), errb.String()
	}
	st := c.Execute(context.Background(), f)
	return st, out.String(), errb.String()
}

func testConf(t *testing.T) *config.Config {
	return &config.Config{Root: filepath.Join(t.TempDir(), "root"), LogFormat: "text"}
}

func TestSpecCommand(t *testing.T) {
	dir := t.TempDir()
	cmd := &Spec{Conf: testConf(t)}
	if st, _, errs := execute(t, cmd, "--bundle", dir); st != subcommands.ExitSuccess {
		t.Fatalf("spec: status %d, stderr %q", st, errs)
	}
	data, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var spec specs.Spec
	if err := json.Unmarshal(data, &spec); err != nil {
		t.Fatalf("config.json is not a spec: %v", err)
	}
	if !reflect.DeepEqual(spec.Process.Args, []string{"sh"}) || spec.Process.Terminal ||
		spec.Process.Cwd != "/" || spec.Root.Path != "rootfs" || !spec.Root.Readonly ||
		spec.Version != specs.Version {
		t.Errorf("unexpected default spec: %s", data)
	}

	st, _, errs := execute(t, &Spec{Conf: testConf(t)}, "-b", dir)
	want := "runsc: File " + filepath.Join(dir, "config.json") + " exists. Remove it first\n"
	if st != subcommands.ExitFailure || errs != want {
		t.Errorf("second spec: status %d, stderr %q; want 1, %q", st, errs, want)
	}
	if st, _, _ := execute(t, &Spec{Conf: testConf(t)}, "extra"); st != subcommands.ExitUsageError {
		t.Errorf("spec with an argument: status %d, want 2", st)
	}
}

func TestWriteList(t *testing.T) {
	created := time.Date(2024, 5, 6, 7, 8, 9, 123, time.UTC)
	states := []container.State{
		{ID: "a", Pid: 42, Status: container.Running, Bundle: "/b/a", Created: created, Owner: "root"},
		{ID: "longer-id", Status: container.Stopped, Bundle: "/b/long", Created: created, Owner: "root"},
	}
	var buf bytes.Buffer
	if err := writeList(&buf, states, "table", false); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("table has %d lines, want 3:\n%s", len(lines), buf.String())
	}
	wantRows := [][]string{
		{"ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"},
		{"a", "42", "running", "/b/a", "2024-05-06T07:08:09.000000123Z", "root"},
		{"longer-id", "0", "stopped", "/b/long", "2024-05-06T07:08:09.000000123Z", "root"},
	}
	for i, l := range lines {
		if got := strings.Fields(l); !reflect.DeepEqual(got, wantRows[i]) {
			t.Errorf("line %d = %q, want fields %q", i, l, wantRows[i])
		}
	}
	// Columns are aligned: STATUS starts at the same offset in every line.
	col := strings.Index(lines[0], "STATUS")
	for _, l := range lines[1:] {
		if l[col-1] != ' ' || l[col] == ' ' {
			t.Errorf("STATUS column not aligned in %q", l)
		}
	}

	buf.Reset()
	if err := writeList(&buf, states, "json", false); err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil || len(got) != 2 || got[0]["id"] != "a" || got[0]["pid"] != float64(42) || got[1]["status"] != "stopped" {
		t.Errorf("json list = %s (%v)", buf.String(), err)
	}

	buf.Reset()
	if err := writeList(&buf, nil, "json", false); err != nil || buf.String() != "[]\n" {
		t.Errorf("empty json list = %q, %v; want []", buf.String(), err)
	}
	buf.Reset()
	if err := writeList(&buf, states, "table", true); err != nil || buf.String() != "a\nlonger-id\n" {
		t.Errorf("quiet list = %q, %v", buf.String(), err)
	}
	if err := writeList(&buf, states, "yaml", false); err == nil || err.Error() != `invalid --format "yaml": must be table or json` {
		t.Errorf("bad format: %v", err)
	}
}

func TestListCommandEmptyRoot(t *testing.T) {
	st, out, errs := execute(t, &List{Conf: testConf(t)})
	if st != subcommands.ExitSuccess || strings.Fields(out)[0] != "ID" || len(strings.Split(out, "\n")) != 2 {
		t.Errorf("list of an empty root: status %d out %q err %q", st, out, errs)
	}
}

// Commands on unknown containers give one clear line and exit 1; wrong
// argument counts exit 2 with the usage.
func TestErrors(t *testing.T) {
	conf := testConf(t)
	bundle := t.TempDir()
	tests := []struct {
		cmd    subcommands.Command
		args   []string
		status subcommands.ExitStatus
		stderr string // the first line
	}{
		{&State{Conf: conf}, []string{"nope"}, 1, `runsc: container "nope" does not exist`},
		{&Start{Conf: conf}, []string{"nope"}, 1, `runsc: container "nope" does not exist`},
		{&Kill{Conf: conf}, []string{"nope", "KILL"}, 1, `runsc: container "nope" does not exist`},
		{&Kill{Conf: conf}, []string{"nope", "BOGUS"}, 1, `runsc: invalid signal "BOGUS": use a number, a name such as TERM or SIGKILL, or RTMIN+n`},
		{&Delete{Conf: conf}, []string{"nope"}, 1, `runsc: container "nope" does not exist`},
		{&Delete{Conf: conf}, []string{"-f", "nope"}, 0, ``},
		{&Wait{Conf: conf}, []string{"nope"}, 1, `runsc: container "nope" does not exist`},
		{&State{Conf: conf}, []string{"a/b"}, 1, `runsc: invalid container id "a/b": must be 1 to 255 characters of [A-Za-z0-9_+.-] and not "." or ".."`},
		{&Create{Conf: conf}, []string{"-b", "/nonexistent", "c"}, 1, `runsc: creating container "c": bundle "/nonexistent": no such file or directory`},
		{&Create{Conf: conf}, []string{"-b", bundle, "c"}, 1, `runsc: creating container "c": reading spec "` + bundle + `/config.json": no such file or directory`},
		{&Run{Conf: conf}, []string{"-b", bundle, "c"}, 1, `runsc: creating container "c": reading spec "` + bundle + `/config.json": no such file or directory`},
		{&Create{Conf: conf}, []string{"-b", bundle, ".."}, 1, `runsc: creating container "..": invalid container id ".."`},
		{&Create{Conf: conf}, nil, 2, `runsc create: expected exactly one container id, got 0 arguments`},
		{&Start{Conf: conf}, []string{"a", "b"}, 2, `runsc start: expected exactly one container id, got 2 arguments`},
		{&Kill{Conf: conf}, nil, 2, `runsc kill: expected a container id and an optional signal, got 0 arguments`},
		{&Do{Conf: conf}, nil, 2, `runsc do: expected a command to run`},
		{&Do{Conf: conf}, []string{"--env", "NOEQUALS", "true"}, 2, `invalid value "NOEQUALS" for flag -env: "NOEQUALS" is not KEY=VALUE`},
		{&List{Conf: conf}, []string{"--format", "xml"}, 1, `runsc: invalid --format "xml": must be table or json`},
	}
	for _, tt := range tests {
		st, _, errs := execute(t, tt.cmd, tt.args...)
		first, _, _ := strings.Cut(errs, "\n")
		if st != tt.status || !strings.HasPrefix(first, tt.stderr) {
			t.Errorf("%s %q: status %d, stderr %q; want %d, %q", tt.cmd.Name(), tt.args, st, errs, tt.status, tt.stderr)
		}
		if st == 1 && strings.Count(errs, "\n") != 1 {
			t.Errorf("%s %q: stderr has more than one line: %q", tt.cmd.Name(), tt.args, errs)
		}
	}
	if ents, _ := os.ReadDir(conf.Root); len(ents) != 0 {
		t.Errorf("failed commands left %d entries under --root", len(ents))
	}
}

func TestSessionLogs(t *testing.T) {
	dir := t.TempDir()
	conf := testConf(t)
	conf.DebugLog = dir + "/"
	conf.Log = filepath.Join(dir, "runsc.log")
	conf.LogFormat = "json"
	st, _, errs := execute(t, &State{Conf: conf}, "nope")
	if st != 1 || errs != "runsc: container \"nope\" does not exist\n" {
		t.Fatalf("state: %d %q", st, errs)
	}
	data, err := os.ReadFile(conf.Log)
	if err != nil {
		t.Fatal(err)
	}
	var line struct{ Level, Msg, Time string }
	if err := json.Unmarshal(data, &line); err != nil || line.Level != "error" || line.Msg != `container "nope" does not exist` {
		t.Errorf("--log line = %q (%v)", data, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "runsc.nope.state.log")); err != nil {
		t.Errorf("debug log not opened: %v", err)
	}
}

func TestMergeEnv(t *testing.T) {
	got := mergeEnv([]string{"A=1", "B=2", "PATH=/bin"}, []string{"B=3", "C=4", "A="})
	want := []string{"A=", "B=3", "PATH=/bin", "C=4"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("mergeEnv = %q, want %q", got, want)
	}
}

func TestUsageTexts(t *testing.T) {
	for _, c := range []subcommands.Command{
		&Create{}, &Start{}, &Run{}, &State{}, &Kill{}, &Delete{}, &List{}, &Wait{},
		&Spec{}, &Do{}, &VersionCmd{},
	} {
		u := c.Usage()
		if !strings.HasPrefix(u, c.Name()) || !strings.Contains(u, "Exit status:") || len(u) < 150 {
			t.Errorf("%s: usage is not a man-page-like text:\n%s", c.Name(), u)
		}
		if c.Synopsis() == "" || strings.Contains(c.Synopsis(), "\n") {
			t.Errorf("%s: bad synopsis %q", c.Name(), c.Synopsis())
		}
	}
}
