package config

import (
	"bytes"
	"encoding/json"
	"flag"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func parse(t *testing.T, args ...string) *Config {
	t.Helper()
	var c Config
	fs := flag.NewFlagSet("runsc", flag.ContinueOnError)
	c.RegisterFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parsing %v: %v", args, err)
	}
	return &c
}

func TestToFlagsRoundTrip(t *testing.T) {
	c := parse(t, "--root=/r", "--debug", "--debug-log=/d/", "--strace", "--network=none", "--overlay=false", "--log-format=json", "--profile-cpu=/p",
		"--file-access=shared", "--file-access-mounts=exclusive")
	back := parse(t, c.ToFlags()...)
	if !reflect.DeepEqual(c, back) {
		t.Errorf("round trip changed config:\n got %+v\nwant %+v", back, c)
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string // substring of the error, "" for none
	}{
		{nil, ""},
		{[]string{"--log-format=xml"}, "--log-format"},
		{[]string{"--platform=kvm"}, "--platform"},
		{[]string{"--platform=systrap"}, ""},
		{[]string{"--network=bridge"}, "--network"},
		{[]string{"--systemd-cgroup"}, "not supported yet"},
		{[]string{"--rootless"}, "not supported yet"},
		{[]string{"--file-access=shared", "--file-access-mounts=exclusive"}, ""},
		{[]string{"--file-access=cached"}, "--file-access"},
		{[]string{"--file-access-mounts="}, "--file-access-mounts"},
	} {
		err := parse(t, tc.args...).Validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%v: unexpected error %v", tc.args, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%v: error %v, want one containing %q", tc.args, err, tc.want)
		}
	}
}

func TestDebugLogPath(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ flag, want string }{
		{"", ""},
		{"/x/y/", "/x/y/runsc.abc.boot.log"},
		{dir, filepath.Join(dir, "runsc.abc.boot.log")},
		{"/x/file.log", "/x/file.log"},
	} {
		c := Config{DebugLog: tc.flag}
		if got := c.DebugLogPath("abc", "boot"); got != tc.want {
			t.Errorf("DebugLogPath with %q = %q, want %q", tc.flag, got, tc.want)
		}
	}
}

func TestJSONLogger(t *testing.T) {
	var buf bytes.Buffer
	c := Config{LogFormat: "json"}
	c.NewLogger(&buf, "boot: ").Printf("hello %q", "x\ty")
	var rec map[string]string
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("log line %q is not JSON: %v", buf.String(), err)
	}
	if rec["msg"] != `boot: hello "x\ty"` || rec["level"] != "debug" || rec["time"] == "" {
		t.Errorf("unexpected record %v", rec)
	}
}

func TestFileAccessDefaults(t *testing.T) {
	c := parse(t)
	if c.FileAccess != FileAccessExclusive || c.FileAccessMounts != FileAccessShared {
		t.Errorf("defaults --file-access=%q --file-access-mounts=%q, want exclusive and shared", c.FileAccess, c.FileAccessMounts)
	}
}
