package specutils

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// bundle makes a bundle directory with a rootfs and config.json holding
// spec (raw JSON when spec is a string).
func bundle(t *testing.T, spec any) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "rootfs"), 0o755); err != nil {
		t.Fatal(err)
	}
	data, ok := spec.(string)
	if !ok {
		b, err := json.Marshal(spec)
		if err != nil {
			t.Fatal(err)
		}
		data = string(b)
	}
	if err := os.WriteFile(filepath.Join(dir, ConfigFile), []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func validSpec() *specs.Spec {
	return &specs.Spec{
		Version: specs.Version,
		Root:    &specs.Root{Path: "rootfs"},
		Process: &specs.Process{Args: []string{"/bin/true"}, Cwd: "/"},
		Mounts:  []specs.Mount{{Destination: "/proc", Type: "proc"}},
	}
}

func TestLoadSpec(t *testing.T) {
	dir := bundle(t, validSpec())
	spec, err := LoadSpec(dir)
	if err != nil {
		t.Fatalf("LoadSpec: %v", err)
	}
	if spec.Process.Args[0] != "/bin/true" || RootfsPath(spec, dir) != filepath.Join(dir, "rootfs") {
		t.Errorf("loaded %+v", spec)
	}

	// A relative bundle path works from the current directory.
	wd, _ := os.Getwd()
	defer os.Chdir(wd)
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadSpec("."); err != nil {
		t.Errorf("LoadSpec(.): %v", err)
	}
}

func TestLoadSpecErrors(t *testing.T) {
	mod := func(f func(*specs.Spec)) *specs.Spec {
		s := validSpec()
		f(s)
		return s
	}
	tests := []struct {
		name string
		spec any
		want string // after `invalid spec "<dir>/config.json": `
	}{
		{"no process", mod(func(s *specs.Spec) { s.Process = nil }), "process must be set"},
		{"no args", mod(func(s *specs.Spec) { s.Process.Args = nil }), "process.args must not be empty"},
		{"empty arg0", mod(func(s *specs.Spec) { s.Process.Args = []string{""} }), "process.args[0] must not be empty"},
		{"no cwd", mod(func(s *specs.Spec) { s.Process.Cwd = "" }), "process.cwd must be set"},
		{"relative cwd", mod(func(s *specs.Spec) { s.Process.Cwd = "tmp" }), `process.cwd "tmp" must be an absolute path`},
		{"no root", mod(func(s *specs.Spec) { s.Root = nil }), "root.path must be set"},
		{"empty root", mod(func(s *specs.Spec) { s.Root.Path = "" }), "root.path must be set"},
		{"missing root", mod(func(s *specs.Spec) { s.Root.Path = "nope" }), `root.path "nope" (DIR/nope): no such file or directory`},
		{"root is a file", mod(func(s *specs.Spec) { s.Root.Path = "config.json" }), `root.path "config.json" (DIR/config.json): not a directory`},
		{"relative mount", mod(func(s *specs.Spec) { s.Mounts = append(s.Mounts, specs.Mount{Destination: "tmp"}) }), `mounts[1].destination "tmp" must be an absolute path`},
		{"unknown capability", mod(func(s *specs.Spec) {
			s.Process.Capabilities = &specs.LinuxCapabilities{Bounding: []string{"CAP_CHOWN", "CAP_TEST"}}
		}), `process.capabilities.bounding[1]: unknown capability "CAP_TEST"`},
		{"unknown ambient capability", mod(func(s *specs.Spec) {
			s.Process.Capabilities = &specs.LinuxCapabilities{Ambient: []string{"chown"}}
		}), `process.capabilities.ambient[0]: unknown capability "chown"`},
		{"relative masked path", mod(func(s *specs.Spec) {
			s.Linux = &specs.Linux{MaskedPaths: []string{"/proc/kcore", "masked"}}
		}), `linux.maskedPaths[1] "masked" must be an absolute path`},
		{"relative readonly path", mod(func(s *specs.Spec) { s.Linux = &specs.Linux{ReadonlyPaths: []string{"ro"}} }),
			`linux.readonlyPaths[0] "ro" must be an absolute path`},
		{"relative device", mod(func(s *specs.Spec) { s.Linux = &specs.Linux{Devices: []specs.LinuxDevice{{Path: "dev/x", Type: "c"}}} }),
			`linux.devices[0].path "dev/x" must be an absolute path`},
		{"unknown device type", mod(func(s *specs.Spec) { s.Linux = &specs.Linux{Devices: []specs.LinuxDevice{{Path: "/dev/x", Type: "x"}}} }),
			`linux.devices[0] "/dev/x": unknown device type "x" (want c, u, b or p)`},
		{"bad json", `{"process": [}`, "invalid character"},
		{"wrong type", `{"process": {"args": "sh"}}`, "cannot unmarshal"},
	}
	for _, tt := range tests {
		dir := bundle(t, tt.spec)
		_, err := LoadSpec(dir)
		prefix := `invalid spec "` + filepath.Join(dir, ConfigFile) + `": `
		want := strings.ReplaceAll(tt.want, "DIR", dir)
		if err == nil || !strings.HasPrefix(err.Error(), prefix) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: LoadSpec error = %v; want %q + ...%q", tt.name, err, prefix, want)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error has several lines: %q", tt.name, err)
		}
	}

	dir := t.TempDir()
	if _, err := LoadSpec(dir); err == nil || err.Error() != `reading spec "`+dir+`/config.json": no such file or directory` {
		t.Errorf("no config.json: %v", err)
	}
	if _, err := LoadSpec(dir + "/missing"); err == nil || err.Error() != `bundle "`+dir+`/missing": no such file or directory` {
		t.Errorf("missing bundle: %v", err)
	}
	file := filepath.Join(dir, "file")
	os.WriteFile(file, nil, 0o644)
	if _, err := LoadSpec(file); err == nil || err.Error() != `bundle "`+file+`": not a directory` {
		t.Errorf("bundle is a file: %v", err)
	}
}

func TestDefaultSpecIsValid(t *testing.T) {
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "rootfs"), 0o755)
	if err := WriteSpec(dir, DefaultSpec()); err != nil {
		t.Fatal(err)
	}
	spec, err := LoadSpec(dir)
	if err != nil {
		t.Fatalf("the default spec does not load: %v", err)
	}
	if spec.Process.Terminal || spec.Process.Args[0] != "sh" || !spec.Root.Readonly {
		t.Errorf("default spec: %+v", spec.Process)
	}
	err = WriteSpec(dir, DefaultSpec())
	if err == nil || err.Error() != "File "+filepath.Join(dir, ConfigFile)+" exists. Remove it first" {
		t.Errorf("overwrite: %v", err)
	}
	if err := WriteSpec(filepath.Join(dir, "missing"), DefaultSpec()); err == nil || !strings.Contains(err.Error(), "no such file or directory") {
		t.Errorf("WriteSpec into a missing directory: %v", err)
	}
}

func TestHostSpec(t *testing.T) {
	s := HostSpec([]string{"ls", "-l"}, []string{"A=1"}, "/home", 1000, 100)
	if err := Validate(s, "/unused"); err != nil {
		t.Fatalf("host spec invalid: %v", err)
	}
	// Not read-only: the sandbox's overlay makes the host's "/" writable in
	// memory only.
	if RootfsPath(s, "/bundle") != "/" || s.Root.Readonly || s.Process.User.UID != 1000 || s.Process.User.GID != 100 {
		t.Errorf("host spec: %+v %+v", s.Root, s.Process.User)
	}
	var dests []string
	for _, m := range s.Mounts {
		dests = append(dests, m.Destination+":"+m.Type)
	}
	if got := strings.Join(dests, " "); got != "/proc:proc /dev:tmpfs" {
		t.Errorf("host spec mounts = %s", got)
	}
}

func TestIsBindMount(t *testing.T) {
	for _, tt := range []struct {
		m    specs.Mount
		want bool
	}{
		{specs.Mount{Type: "bind"}, true},
		{specs.Mount{Type: "none", Options: []string{"rbind", "ro"}}, true},
		{specs.Mount{Options: []string{"bind"}}, true},
		{specs.Mount{Type: "tmpfs", Options: []string{"nosuid"}}, false},
		{specs.Mount{Type: "proc"}, false},
	} {
		if got := IsBindMount(tt.m); got != tt.want {
			t.Errorf("IsBindMount(%+v) = %v, want %v", tt.m, got, tt.want)
		}
	}
}

func TestIsReadOnlyMount(t *testing.T) {
	for opts, want := range map[string]bool{"": false, "ro": true, "rbind,ro": true, "ro,rw": false, "rw,ro": true} {
		if got := IsReadOnlyMount(strings.Split(opts, ",")); got != want {
			t.Errorf("IsReadOnlyMount(%q) = %v, want %v", opts, got, want)
		}
	}
}

func TestValidateRlimits(t *testing.T) {
	ok := []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 10, Hard: 20}, {Type: "RLIMIT_CORE"}}
	if err := validateRlimits(ok); err != nil {
		t.Errorf("valid rlimits: %v", err)
	}
	for _, bad := range [][]specs.POSIXRlimit{
		{{Type: "RLIMIT_TEST"}},
		{{Type: "RLIMIT_NOFILE", Soft: 30, Hard: 20}},
		{{Type: "RLIMIT_AS"}, {Type: "RLIMIT_AS"}},
	} {
		if err := validateRlimits(bad); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
	spec := DefaultSpec()
	spec.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_TEST"}}
	if _, err := LoadSpec(bundle(t, spec)); err == nil || !strings.Contains(err.Error(), "RLIMIT_TEST") {
		t.Errorf("LoadSpec with an unknown rlimit: %v", err)
	}
}

func TestCapabilityNumber(t *testing.T) {
	for name, want := range map[string]int{"CAP_CHOWN": 0, "CAP_SYS_ADMIN": 21, "CAP_CHECKPOINT_RESTORE": 40} {
		if n, ok := CapabilityNumber(name); !ok || n != want {
			t.Errorf("CapabilityNumber(%q) = %d, %v; want %d", name, n, ok, want)
		}
	}
	for _, name := range []string{"CAP_TEST", "cap_chown", "SYS_ADMIN", ""} {
		if n, ok := CapabilityNumber(name); ok {
			t.Errorf("CapabilityNumber(%q) = %d, true; want unknown", name, n)
		}
	}
	if err := ValidateCapabilities(nil); err != nil {
		t.Errorf("ValidateCapabilities(nil) = %v", err)
	}
}
