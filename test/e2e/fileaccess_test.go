package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"bulwark.dev/test/testutil"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// File access policies (--file-access, --file-access-mounts): what the
// container sees of files the host changes while it runs, and the host fds
// the sandbox keeps.

// watchScript reads dir/f, dir/r and dir/gone, then waits for the host to
// create dir/go and reads again: the content of f (rewritten in place) and
// of r (replaced by rename), the listing, the size, a name looked up (and
// missing) before and one removed since. It reports through files in
// /tmp/report (a bind mount: with the overlay, writes to the root never
// reach the host): ready, then after (renamed into place whole).
func watchScript(dir string) string {
	return fmt.Sprintf(`cat %[1]s/f %[1]s/r %[1]s/gone >/dev/null; ls %[1]s >/dev/null; test -e %[1]s/new
touch /tmp/report/ready
while [ ! -e %[1]s/go ]; do sleep 0.05; done
{ cat %[1]s/f %[1]s/r; ls %[1]s; stat -c %%s %[1]s/f; test -e %[1]s/new && echo new found; cat %[1]s/gone 2>/dev/null || echo gone removed; } > /tmp/report/after.tmp
mv /tmp/report/after.tmp /tmp/report/after`, dir)
}

// watchBundle writes a bundle running watchScript(dir) on rootfs with
// report bind-mounted at /tmp/report and the extra mounts.
func (e *env) watchBundle(dir, rootfs, report string, mounts ...specs.Mount) string {
	e.t.Helper()
	return e.bundleSpec(func(s *specs.Spec) {
		s.Root.Path = rootfs
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/tmp/report", Type: "bind", Source: report, Options: []string{"rbind"}})
		s.Mounts = append(s.Mounts, mounts...)
	}, "sh", "-c", watchScript(dir))
}

// expectHostChangesSeen starts container id of bundle (running
// watchScript of the directory the host sees as hostDir, reporting to
// report), changes the directory on the host once the container has
// looked at it and checks the container saw the changes.
func (e *env) expectHostChangesSeen(id, bundle, hostDir, report string) {
	e.t.Helper()
	f := filepath.Join(hostDir, "f")
	for name, data := range map[string]string{"f": "one\n", "r": "first\n", "gone": "soon gone\n"} {
		if err := os.WriteFile(filepath.Join(hostDir, name), []byte(data), 0o644); err != nil {
			e.t.Fatal(err)
		}
	}
	e.track(id)
	e.must("create", "--bundle", bundle, id)
	e.must("start", id)
	if !waitFor(*cmdTimeout, func() bool { return exists(filepath.Join(report, "ready")) }) {
		e.t.Fatalf("the container did not report it had read %s", hostDir)
	}
	// In place (same inode), as a log or a config file is rewritten.
	if err := os.WriteFile(f, []byte("two, longer\n"), 0o644); err != nil {
		e.t.Fatal(err)
	}
	// Replaced by rename (a new inode), as editors and Kubernetes'
	// config map updates do, and removed.
	if err := os.WriteFile(filepath.Join(hostDir, "r.tmp"), []byte("replaced\n"), 0o644); err != nil {
		e.t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(hostDir, "r.tmp"), filepath.Join(hostDir, "r")); err != nil {
		e.t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(hostDir, "gone")); err != nil {
		e.t.Fatal(err)
	}
	for _, name := range []string{"new", "go"} {
		if err := os.WriteFile(filepath.Join(hostDir, name), nil, 0o644); err != nil {
			e.t.Fatal(err)
		}
	}
	after := filepath.Join(report, "after")
	if !waitFor(*cmdTimeout, func() bool { return exists(after) }) {
		e.t.Fatalf("the container did not report what it saw after the host's changes")
	}
	b, err := os.ReadFile(after)
	if err != nil {
		e.t.Fatal(err)
	}
	want := "two, longer\nreplaced\nf\ngo\nnew\nr\n12\nnew found\ngone removed\n"
	if string(b) != want {
		e.t.Errorf("after the host changed %s, the container saw:\n%s\nwant:\n%s", hostDir, b, want)
	}
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// TestBindMountSeesHostChanges checks that with the default flags a bind
// mount is shared: the container sees what the host changes in it while
// it runs.
func TestBindMountSeesHostChanges(t *testing.T) {
	e := newEnv(t)
	data, report := t.TempDir(), t.TempDir()
	bundle := e.watchBundle("/tmp/data", rootfs, report,
		specs.Mount{Destination: "/tmp/data", Type: "bind", Source: data, Options: []string{"rbind"}})
	e.expectHostChangesSeen("bind", bundle, data, report)
}

// TestFileAccessSharedRoot checks --file-access=shared: the container sees
// what the host changes in its root filesystem, with and without the
// overlay.
func TestFileAccessSharedRoot(t *testing.T) {
	runscOnly(t)
	for _, overlay := range []string{"--overlay=true", "--overlay=false"} {
		t.Run(overlay, func(t *testing.T) {
			e := newEnv(t, "--file-access=shared", overlay)
			private := filepath.Join(t.TempDir(), "rootfs")
			if err := testutil.BuildBusyboxRootfs(private); err != nil {
				t.Fatal(err)
			}
			if err := os.Mkdir(filepath.Join(private, "watched"), 0o755); err != nil {
				t.Fatal(err)
			}
			report := t.TempDir()
			bundle := e.watchBundle("/watched", private, report)
			e.expectHostChangesSeen("shared-root", bundle, filepath.Join(private, "watched"), report)
		})
	}
}

// TestExclusiveRootFDsBounded opens many files of an exclusive root and
// checks the sandbox keeps a bounded number of host fds for them.
func TestExclusiveRootFDsBounded(t *testing.T) {
	runscOnly(t)
	e := newEnv(t)
	private := filepath.Join(t.TempDir(), "rootfs")
	if err := testutil.BuildBusyboxRootfs(private); err != nil {
		t.Fatal(err)
	}
	const files = 400
	many := filepath.Join(private, "many")
	if err := os.Mkdir(many, 0o755); err != nil {
		t.Fatal(err)
	}
	for k := range files {
		if err := os.WriteFile(filepath.Join(many, fmt.Sprint(k)), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	const id = "fds"
	e.track(id)
	e.must("run", "--detach", "--bundle", e.bundleWith(testutil.SpecOptions{Args: []string{"sleep", "1000"}, Rootfs: private}), id)
	pid := e.state(id).Pid
	before := countFDs(t, pid)
	for range 2 { // the second round reuses what the first kept
		out := e.execOut(id, "sh", "-c", "cat /many/* | wc -c")
		if strings.TrimSpace(out) != fmt.Sprint(files) {
			t.Fatalf("reading /many/*: %q, want %d bytes", out, files)
		}
	}
	after := countFDs(t, pid)
	t.Logf("sandbox fds: %d before, %d after opening %d files twice", before, after, files)
	if after-before > 200 {
		t.Errorf("the sandbox holds %d more fds after opening %d files (%d before)", after-before, files, before)
	}
}

// countFDs counts the open fds of host process pid.
func countFDs(t *testing.T, pid int) int {
	t.Helper()
	var n int
	// The sandbox may be opening or closing one right now: settle on two
	// equal counts in a row.
	ok := waitFor(5*time.Second, func() bool {
		ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
		if err != nil {
			t.Fatalf("sandbox pid %d: %v", pid, err)
		}
		prev := n
		n = len(ents)
		return n == prev
	})
	if !ok {
		t.Fatalf("the fd count of pid %d did not settle", pid)
	}
	return n
}
