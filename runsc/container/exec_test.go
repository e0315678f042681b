package container

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestMergeEnv(t *testing.T) {
	got, err := MergeEnv([]string{"PATH=/bin", "A=1", "B=2"}, []string{"A=x", "C=3", "PATH=/usr/bin:/bin", "C=4", "E="})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"PATH=/usr/bin:/bin", "A=x", "B=2", "C=4", "E="}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("MergeEnv = %q, want %q", got, want)
	}
	for _, bad := range []string{"NOEQUALS", "=v"} {
		if _, err := MergeEnv(nil, []string{bad}); err == nil {
			t.Errorf("MergeEnv accepted %q", bad)
		}
	}
}

func TestParseUser(t *testing.T) {
	for _, tc := range []struct {
		in       string
		uid, gid uint32
		hasGID   bool
		ok       bool
	}{
		{"1000", 1000, 0, false, true},
		{"1000:100", 1000, 100, true, true},
		{"0:0", 0, 0, true, true},
		{"root", 0, 0, false, false},
		{"1:x", 0, 0, false, false},
		{"-1", 0, 0, false, false},
		{"", 0, 0, false, false},
	} {
		uid, gid, hasGID, err := ParseUser(tc.in)
		if (err == nil) != tc.ok || uid != tc.uid || gid != tc.gid || hasGID != tc.hasGID {
			t.Errorf("ParseUser(%q) = %d, %d, %v, %v", tc.in, uid, gid, hasGID, err)
		}
	}
}

func execContainer() *Container {
	return &Container{ID: "c", Spec: &specs.Spec{Process: &specs.Process{
		Args: []string{"init"}, Env: []string{"PATH=/bin", "HOME=/root"}, Cwd: "/srv",
		User:         specs.User{UID: 5, GID: 6, AdditionalGids: []uint32{7}},
		Capabilities: &specs.LinuxCapabilities{Bounding: []string{"CAP_CHOWN"}, Effective: []string{"CAP_CHOWN"}},
	}}}
}

func TestExecProcessDefaultsFromSpec(t *testing.T) {
	c := execContainer()
	p, err := c.ExecProcess(ExecOptions{Args: []string{"ls", "-l"}})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(p.Args, []string{"ls", "-l"}) || p.Cwd != "/srv" ||
		!reflect.DeepEqual(p.Env, []string{"PATH=/bin", "HOME=/root"}) || p.User.UID != 5 || p.User.GID != 6 ||
		!reflect.DeepEqual(p.User.AdditionalGids, []uint32{7}) || p.Terminal || p.NoNewPrivileges {
		t.Errorf("process %+v", p)
	}
	// The container's spec is left alone.
	p.Env[0] = "X=y"
	p.Capabilities.Bounding[0] = "CAP_X"
	if sp := c.Spec.Process; sp.Env[0] != "PATH=/bin" || sp.Capabilities.Bounding[0] != "CAP_CHOWN" || sp.Args[0] != "init" {
		t.Errorf("the spec changed: %+v", sp)
	}
}

func TestExecProcessFlags(t *testing.T) {
	c := execContainer()
	p, err := c.ExecProcess(ExecOptions{
		Args: []string{"id"}, Cwd: "/tmp", Env: []string{"HOME=/home/x", "A=b"}, User: "1000:1001",
		AdditionalGids: []string{"10", "20"}, Caps: []string{"net_admin", "CAP_CHOWN"}, NoNewPrivs: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if p.Cwd != "/tmp" || !reflect.DeepEqual(p.Env, []string{"PATH=/bin", "HOME=/home/x", "A=b"}) ||
		p.User.UID != 1000 || p.User.GID != 1001 || !reflect.DeepEqual(p.User.AdditionalGids, []uint32{10, 20}) ||
		!p.NoNewPrivileges {
		t.Errorf("process %+v", p)
	}
	want := []string{"CAP_CHOWN", "CAP_NET_ADMIN"}
	if caps := p.Capabilities; !reflect.DeepEqual(caps.Bounding, want) || !reflect.DeepEqual(caps.Effective, want) ||
		!reflect.DeepEqual(caps.Permitted, []string{"CAP_NET_ADMIN", "CAP_CHOWN"}) {
		t.Errorf("capabilities %+v", caps)
	}
	// -u uid alone keeps the spec's gid.
	p, err = c.ExecProcess(ExecOptions{Args: []string{"id"}, User: "42"})
	if err != nil || p.User.UID != 42 || p.User.GID != 6 {
		t.Errorf("-u 42: %+v, %v", p.User, err)
	}
	for _, o := range []ExecOptions{
		{},
		{Args: []string{"id"}, User: "bob"},
		{Args: []string{"id"}, Env: []string{"novalue"}},
		{Args: []string{"id"}, AdditionalGids: []string{"x"}},
		{Args: []string{"id"}, Caps: []string{"foo"}},
	} {
		if _, err := c.ExecProcess(o); err == nil {
			t.Errorf("ExecProcess(%+v) succeeded", o)
		}
	}
}

func TestExecProcessFile(t *testing.T) {
	c := execContainer()
	dir := t.TempDir()
	path := filepath.Join(dir, "process.json")
	os.WriteFile(path, []byte(`{"args":["echo","hi"],"cwd":"/","env":["ONLY=1"],"user":{"uid":3,"gid":4}}`), 0o644)
	p, err := c.ExecProcess(ExecOptions{ProcessFile: path, Env: []string{"IGNORED=1"}})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(p.Args, []string{"echo", "hi"}) || !reflect.DeepEqual(p.Env, []string{"ONLY=1"}) ||
		p.User.UID != 3 || p.Cwd != "/" {
		t.Errorf("process %+v", p)
	}
	for name, data := range map[string]string{
		"bad.json":    `{"args":`,
		"noargs.json": `{"cwd":"/"}`,
		"relcwd.json": `{"args":["x"],"cwd":"tmp"}`,
		"badcap.json": `{"args":["x"],"cwd":"/","capabilities":{"effective":["CAP_TEST"]}}`,
	} {
		path := filepath.Join(dir, name)
		os.WriteFile(path, []byte(data), 0o644)
		if _, err := c.ExecProcess(ExecOptions{ProcessFile: path}); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
	if _, err := c.ExecProcess(ExecOptions{ProcessFile: filepath.Join(dir, "missing")}); err == nil {
		t.Error("a missing process file was accepted")
	}
}

func TestPauseResumeStateMachine(t *testing.T) {
	f := newFake(t)
	e := newEnv(t)
	c := e.mustNew(t, "p")
	if err := c.Pause(); err == nil || !strings.Contains(err.Error(), "not running") {
		t.Errorf("Pause of a created container: %v", err)
	}
	if err := c.Resume(); err == nil || !strings.Contains(err.Error(), "not paused") {
		t.Errorf("Resume of a created container: %v", err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	if err := c.Resume(); err == nil {
		t.Error("Resume of a running container succeeded")
	}
	if err := c.Pause(); err != nil {
		t.Fatalf("Pause: %v", err)
	}
	if err := c.Pause(); err == nil {
		t.Error("second Pause succeeded")
	}
	got, err := Load(e.conf.Root, "p")
	if err != nil || got.Status != Paused || got.State().Status != Paused || got.Pid() == 0 {
		t.Fatalf("after Pause: %+v, %v", got, err)
	}
	// Exec is refused unless told to ignore the pause.
	p := &specs.Process{Args: []string{"ls"}}
	if _, err := got.Exec(p, nil, false); err == nil || !strings.Contains(err.Error(), "--ignore-paused") {
		t.Errorf("Exec into a paused container: %v", err)
	}
	if _, err := got.Exec(p, nil, true); err != nil {
		t.Errorf("Exec --ignore-paused: %v", err)
	}
	// Signals reach a paused container (the sandbox delivers them on
	// resume); processes can be listed.
	if err := got.Signal(10, false); err != nil {
		t.Errorf("Signal to a paused container: %v", err)
	}
	if _, err := got.Processes(); err != nil {
		t.Errorf("Processes of a paused container: %v", err)
	}
	if err := got.Resume(); err != nil {
		t.Fatalf("Resume: %v", err)
	}
	if got.Status != Running || f.box(got.Sandbox).paused {
		t.Errorf("after Resume: status %s, paused %v", got.Status, f.box(got.Sandbox).paused)
	}
	if _, err := got.Exec(p, nil, false); err != nil {
		t.Errorf("Exec after Resume: %v", err)
	}
	if n := len(f.box(got.Sandbox).execs); n != 2 {
		t.Errorf("%d execs reached the sandbox, want 2", n)
	}
}

func TestPausedContainerDeleteAndReconcile(t *testing.T) {
	f := newFake(t)
	e := newEnv(t)
	c := e.mustNew(t, "d")
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	if err := c.Pause(); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(false); err == nil {
		t.Error("Delete without --force of a paused container succeeded")
	}
	if err := c.Delete(true); err != nil {
		t.Fatalf("Delete --force of a paused container: %v", err)
	}
	if n := f.box(c.Sandbox).destroys; n != 1 {
		t.Errorf("sandbox destroyed %d times", n)
	}

	// A paused container whose sandbox died is stopped.
	c2 := e.mustNew(t, "r")
	if err := c2.Start(); err != nil {
		t.Fatal(err)
	}
	if err := c2.Pause(); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	f.boxes["r"].running = false
	f.mu.Unlock()
	got, err := Load(e.conf.Root, "r")
	if err != nil || got.Status != Stopped {
		t.Fatalf("paused container with a dead sandbox: %+v, %v", got, err)
	}
	if _, err := got.Exec(&specs.Process{Args: []string{"ls"}}, nil, true); err == nil {
		t.Error("Exec into a stopped container succeeded")
	}
}
