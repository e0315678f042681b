package e2e

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"bulwark.dev/test/testutil"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// specBundle writes a bundle of the busybox rootfs running script with sh
// after edit has changed its spec.
func (e *env) specBundle(script string, edit func(*specs.Spec)) string {
	e.t.Helper()
	spec := testutil.NewSpec(testutil.SpecOptions{Args: []string{"sh", "-c", script}, Rootfs: rootfs})
	edit(spec)
	dir := filepath.Join(e.t.TempDir(), "bundle")
	if err := testutil.WriteBundle(dir, spec); err != nil {
		e.t.Fatal(err)
	}
	return dir
}

// writeTree creates files (path: content; a path ending in "/" is a
// directory) under dir.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for p, data := range files {
		full := filepath.Join(dir, p)
		if strings.HasSuffix(p, "/") {
			if err := os.MkdirAll(full, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// maskScript prints what the container sees of the masked and read-only
// paths under /tmp/data, one fact per line.
const maskScript = `
echo "secret=[$(cat /tmp/data/secret)] $(stat -c %F /tmp/data/secret)"
echo "secret-via-link=[$(cat /tmp/data/link)]"
echo "masked-dir=[$(ls -A /tmp/data/dir)]"
touch /tmp/data/dir/new 2>/dev/null; echo "masked-dir-write=$?"
echo "masked-nested=[$(cat /tmp/data/dir/inner 2>/dev/null)]"
echo "ro-file=[$(cat /tmp/data/ro-file)]"
(echo x > /tmp/data/ro-file) 2>/dev/null; echo "ro-file-write=$?"
echo "ro-dir=[$(cat /tmp/data/ro-dir/f)]"
touch /tmp/data/ro-dir/new 2>/dev/null; echo "ro-dir-write=$?"
echo y > /tmp/data/rw-file; echo "rw-write=$?"
`

// TestMaskedAndReadonlyPaths: linux.maskedPaths hides a file behind
// /dev/null (also when reached through a symlink) and a directory behind
// an empty read-only tmpfs; linux.readonlyPaths makes a file and a
// directory read-only; missing paths are ignored; the rest of the bind
// mount stays writable.
func TestMaskedAndReadonlyPaths(t *testing.T) {
	e := newEnv(t)
	data := t.TempDir()
	writeTree(t, data, map[string]string{
		"secret": "secrets", "dir/inner": "hidden", "ro-file": "ro-content", "ro-dir/f": "in-ro-dir", "rw-file": "",
	})
	if err := os.Symlink("secret", filepath.Join(data, "link")); err != nil {
		t.Fatal(err)
	}
	bundle := e.specBundle(maskScript, func(s *specs.Spec) {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/tmp/data", Type: "bind", Source: data, Options: []string{"rbind", "rw"}})
		s.Linux.MaskedPaths = []string{"/tmp/data/secret", "/tmp/data/dir", "/tmp/data/dir/inner", "/tmp/data/missing"}
		s.Linux.ReadonlyPaths = []string{"/tmp/data/ro-file", "/tmp/data/ro-dir", "/tmp/data/missing-too"}
	})
	e.track("masked")
	r := e.runsc("run", "--bundle", bundle, "masked")
	want := strings.Join([]string{
		"secret=[] character special file",
		"secret-via-link=[]",
		"masked-dir=[]",
		"masked-dir-write=1",
		"masked-nested=[]",
		"ro-file=[ro-content]",
		"ro-file-write=1",
		"ro-dir=[in-ro-dir]",
		"ro-dir-write=1",
		"rw-write=0",
	}, "\n") + "\n"
	if r.ExitCode != 0 || r.Stdout != want {
		t.Errorf("want exit 0 and stdout\n%s\ngot:\n%s", want, r)
	}
	for p, content := range map[string]string{"secret": "secrets", "ro-file": "ro-content", "dir/inner": "hidden"} {
		if got, err := os.ReadFile(filepath.Join(data, p)); err != nil || string(got) != content {
			t.Errorf("host file %s: %q, %v; want %q unchanged", p, got, err, content)
		}
	}
	for _, p := range []string{"dir/new", "ro-dir/new"} {
		if _, err := os.Lstat(filepath.Join(data, p)); err == nil {
			t.Errorf("the container created %s on the host through a masked or read-only path", p)
		}
	}
}

// TestSpecDevices: linux.devices creates character and block device nodes
// and FIFOs with the spec's numbers, mode and owner, creating missing
// parent directories.
func TestSpecDevices(t *testing.T) {
	e := newEnv(t)
	mode := fs.FileMode(0o640)
	uid, gid := uint32(7), uint32(8)
	bundle := e.specBundle("stat -c '%n %F %t:%T %a %u:%g' /dev/test1 /dev/sub/test2 /dev/test3", func(s *specs.Spec) {
		s.Linux.Devices = []specs.LinuxDevice{
			{Path: "/dev/test1", Type: "c", Major: 10, Minor: 666, FileMode: &mode, UID: &uid, GID: &gid},
			{Path: "/dev/sub/test2", Type: "b", Major: 8, Minor: 300, FileMode: &mode},
			{Path: "/dev/test3", Type: "p", FileMode: &mode},
		}
	})
	e.track("devices")
	r := e.runsc("run", "--bundle", bundle, "devices")
	want := "/dev/test1 character special file a:29a 640 7:8\n" +
		"/dev/sub/test2 block special file 8:12c 640 0:0\n" +
		"/dev/test3 fifo 0:0 640 0:0\n"
	if r.ExitCode != 0 || r.Stdout != want {
		t.Errorf("want exit 0 and stdout\n%s\ngot:\n%s", want, r)
	}
}

// TestUnknownCapabilityRefused: a spec naming a capability Linux does not
// have fails create with one line naming it, and leaves nothing behind.
func TestUnknownCapabilityRefused(t *testing.T) {
	if *runcFlag {
		t.Skip("runc 1.1 and later only warn about unknown capabilities; runsc refuses them as the runtime spec asks")
	}
	e := newEnv(t)
	bundle := e.specBundle("true", func(s *specs.Spec) {
		s.Process.Capabilities.Bounding = append(s.Process.Capabilities.Bounding, "CAP_TEST")
	})
	e.track("badcap")
	r := e.runsc("create", "--bundle", bundle, "badcap")
	expectOneLineError(t, r, `unknown capability "CAP_TEST"`, "process.capabilities.bounding")
	e.expectEmptyRoot()
}

// TestOOMScoreAdj: process.oomScoreAdj is the init's oom_score_adj, which
// its children inherit and may raise.
func TestOOMScoreAdj(t *testing.T) {
	e := newEnv(t)
	adj := 500
	bundle := e.specBundle("cat /proc/self/oom_score_adj; sh -c 'echo 600 > /proc/self/oom_score_adj; cat /proc/self/oom_score_adj'; cat /proc/1/oom_score_adj", func(s *specs.Spec) {
		s.Process.OOMScoreAdj = &adj
	})
	e.track("oom")
	r := e.runsc("run", "--bundle", bundle, "oom")
	if want := "500\n600\n500\n"; r.ExitCode != 0 || r.Stdout != want {
		t.Errorf("want exit 0 and stdout\n%s\ngot:\n%s", want, r)
	}
}
