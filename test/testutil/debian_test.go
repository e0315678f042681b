package testutil

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// writeSources lays out a sources.list and a sources.list.d directory.
func writeSources(t *testing.T, list string, parts map[string]string) (string, string) {
	t.Helper()
	base := t.TempDir()
	dir := filepath.Join(base, "sources.list.d")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	listPath := filepath.Join(base, "sources.list")
	if list != "" {
		if err := os.WriteFile(listPath, []byte(list), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name, text := range parts {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return listPath, dir
}

func TestDebianMirror(t *testing.T) {
	const deb822 = `Types: deb
# http://snapshot.example/archive/debian/20250520T000000Z
URIs: http://mirror.example/debian/
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main
`
	for _, c := range []struct {
		name  string
		list  string
		parts map[string]string
		want  string // "" means an error
	}{
		{name: "deb822", parts: map[string]string{"debian.sources": deb822}, want: "http://mirror.example/debian"},
		{name: "one-line", list: "# comment\ndeb-src http://src.example/debian bookworm main\n" +
			"deb [arch=amd64 signed-by=/k.gpg] https://one.example/debian bookworm main contrib # trailing\n",
			want: "https://one.example/debian"},
		{name: "one-line options with spaces", list: "deb [ arch=amd64 ] http://sp.example/debian stable main\n", want: "http://sp.example/debian"},
		{name: "sources.list before parts", list: "deb http://first.example/debian bookworm main\n",
			parts: map[string]string{"debian.sources": deb822}, want: "http://first.example/debian"},
		{name: "parts in name order", parts: map[string]string{
			"b.list": "deb http://b.example/debian bookworm main\n",
			"a.list": "deb http://a.example/debian bookworm main\n",
		}, want: "http://a.example/debian"},
		{name: "third-party and security skipped", parts: map[string]string{
			"a.list":          "deb https://packages.example/apt cloud-sdk-bookworm main\ndeb http://sec.example/debian-security bookworm-security main\n",
			"b.sources":       "Types: deb\nURIs: https://node.example/node_20.x\nSuites: nodistro\nComponents: main\n",
			"c.sources":       "Types: deb\nURIs: http://real.example/debian\nSuites: bookworm\nComponents: main\n",
			"0.list.disabled": "deb http://disabled.example/debian bookworm main\n",
		}, want: "http://real.example/debian"},
		{name: "deb822 disabled and continuation lines", parts: map[string]string{"x.sources": `Types: deb
URIs: http://off.example/debian
Suites: bookworm
Components: main
Enabled: no

types: deb-src deb
uris: cdrom:/x/
  http://cont.example/debian
suites: bookworm
components: contrib
 main
Signed-By:
 -----BEGIN PGP PUBLIC KEY BLOCK-----
 .
 abc
`}, want: "http://cont.example/debian"},
		{name: "no Debian main", list: "deb http://x.example/debian bookworm contrib\n", want: ""},
		{name: "nothing at all", want: ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			list, dir := writeSources(t, c.list, c.parts)
			got, err := debianMirror(list, dir)
			if c.want == "" {
				if err == nil || !strings.Contains(err.Error(), MirrorEnv) {
					t.Errorf("debianMirror = %q, %v; want an error naming %s", got, err, MirrorEnv)
				}
				return
			}
			if err != nil || got != c.want {
				t.Errorf("debianMirror = %q, %v; want %q", got, err, c.want)
			}
		})
	}
}

func TestDebianMirrorEnv(t *testing.T) {
	t.Setenv(MirrorEnv, "http://override.example/debian")
	if got, err := DebianMirror(); err != nil || got != "http://override.example/debian" {
		t.Errorf("DebianMirror = %q, %v; want the %s value", got, err, MirrorEnv)
	}
}

func TestMountsUnder(t *testing.T) {
	info := `22 1 8:1 / / rw - ext4 /dev/sda1 rw
30 22 0:5 / /r/debian.tmp/proc rw - proc proc rw
31 22 0:6 / /r/debian.tmp/sys rw - sysfs sysfs rw
32 22 0:7 / /r/debian.tmp2/proc rw - proc proc rw
33 22 0:8 /null /r/debian.tmp/dev/null rw - devtmpfs udev rw
34 22 0:9 / /r/with\040space rw - tmpfs tmpfs rw
`
	want := []string{"/r/debian.tmp/proc", "/r/debian.tmp/sys", "/r/debian.tmp/dev/null"}
	if got := mountsUnder(info, "/r/debian.tmp/"); !reflect.DeepEqual(got, want) {
		t.Errorf("mountsUnder = %q, want %q", got, want)
	}
	if got := mountsUnder(info, "/r/with space"); !reflect.DeepEqual(got, []string{"/r/with space"}) {
		t.Errorf("mountsUnder(escaped) = %q", got)
	}
	if got := unescapeMountinfo(`a\134b\04`); got != `a\b\04` {
		t.Errorf("unescapeMountinfo = %q", got)
	}
}

func TestFollowProgress(t *testing.T) {
	out := "I: Retrieving InRelease\nI: Retrieving a 1\nI: Validating a 1\nI: Retrieving b 2\nI: Validating b 2\nW: odd\nI: Extracting a\nI: Extracting b\n"
	var logged []string
	tail := followProgress(strings.NewReader(out), func(f string, a ...any) {
		logged = append(logged, a[0].(string))
	})
	want := []string{"I: Retrieving InRelease", "I: Validating a 1", "W: odd", "I: Extracting a"}
	if !reflect.DeepEqual(logged, want) {
		t.Errorf("logged %q, want %q", logged, want)
	}
	if len(tail) != 8 || tail[7] != "I: Extracting b" {
		t.Errorf("tail = %q", tail)
	}
}

func TestLockFileExcludes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	unlock, err := lockFile(context.Background(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	// flock locks belong to the open file description, so a second open in
	// this process contends like another test binary would.
	ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
	defer cancel()
	waiting := false
	if _, err := lockFile(ctx, path, func(string, ...any) { waiting = true }); err == nil || !waiting {
		t.Fatalf("second lockFile while held: err %v, logged waiting %v; want a logged wait ending in a timeout", err, waiting)
	}
	unlock()
	unlock2, err := lockFile(context.Background(), path, nil)
	if err != nil {
		t.Fatalf("lockFile after release: %v", err)
	}
	unlock2()
}

func TestCachedDebianRootfsUsesCompleteTree(t *testing.T) {
	// A tree with a current marker is used as is, without debootstrap or a
	// mirror; one without is not (it would be rebuilt).
	repo := t.TempDir()
	dst := filepath.Join(repo, ".cache/rootfs/debian-"+DebianSuite)
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	if debianComplete(dst) {
		t.Error("a tree without the marker counts as complete")
	}
	if err := os.WriteFile(filepath.Join(dst, stampFile), []byte(debianStamp()), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := CachedDebianRootfs(context.Background(), repo, t.Logf)
	if err != nil || got != dst {
		t.Errorf("CachedDebianRootfs = %q, %v; want %q", got, err, dst)
	}
	if err := os.WriteFile(filepath.Join(dst, stampFile), []byte("layout 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if debianComplete(dst) {
		t.Error("a tree with a stale marker counts as complete")
	}
}

func TestBuildDebianRootfsWithoutDebootstrap(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	err := BuildDebianRootfs(context.Background(), t.TempDir(), "http://unused.example/debian", nil)
	if err == nil || !strings.Contains(err.Error(), "scripts/install.sh") {
		t.Errorf("BuildDebianRootfs without debootstrap: %v; want an error pointing at scripts/install.sh", err)
	}
}

// fakeDebootstrap puts a debootstrap on PATH that records each run in
// count, sleeps a little (so concurrent callers overlap) and fills the
// target with one file; it fails when the mirror is "fail".
func fakeDebootstrap(t *testing.T) (count string) {
	t.Helper()
	bin := t.TempDir()
	count = filepath.Join(t.TempDir(), "count")
	script := `#!/bin/sh
echo run >> ` + count + `
echo "I: Retrieving InRelease"
for last; do :; done
[ "$last" = fail ] && { echo "E: Failed getting release file" >&2; exit 1; }
shift 3
mkdir -p "$1/etc" && echo 12.0 > "$1/etc/debian_version"
sleep 0.3
echo "I: Base system installed successfully."
`
	if err := os.WriteFile(filepath.Join(bin, "debootstrap"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+":"+os.Getenv("PATH"))
	return count
}

func TestCachedDebianRootfsBuildsOnce(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("BuildDebianRootfs needs root")
	}
	count := fakeDebootstrap(t)
	t.Setenv(MirrorEnv, "http://mirror.invalid/debian")
	repo := t.TempDir()
	cache := filepath.Join(repo, ".cache/rootfs")
	// What an interrupted build leaves: a tree without the marker and a
	// half-built temporary tree.
	for _, d := range []string{"debian-" + DebianSuite + "/usr", "debian-" + DebianSuite + ".tmp/var"} {
		if err := os.MkdirAll(filepath.Join(cache, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	errs := make(chan error, 3)
	for range 3 {
		go func() {
			_, err := CachedDebianRootfs(context.Background(), repo, t.Logf)
			errs <- err
		}()
	}
	for range 3 {
		if err := <-errs; err != nil {
			t.Fatalf("CachedDebianRootfs: %v", err)
		}
	}
	runs, _ := os.ReadFile(count)
	if n := strings.Count(string(runs), "run"); n != 1 {
		t.Errorf("debootstrap ran %d times for 3 concurrent callers, want once", n)
	}
	dst := filepath.Join(cache, "debian-"+DebianSuite)
	if !debianComplete(dst) {
		t.Errorf("%s has no completion marker", dst)
	}
	if _, err := os.Stat(filepath.Join(dst, "etc/debian_version")); err != nil {
		t.Errorf("the built tree lacks debootstrap's output: %v", err)
	}
	for _, stale := range []string{filepath.Join(dst, "usr"), dst + ".tmp"} {
		if _, err := os.Stat(stale); !os.IsNotExist(err) {
			t.Errorf("%s survived the rebuild (%v)", stale, err)
		}
	}
}

func TestCachedDebianRootfsFailure(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("BuildDebianRootfs needs root")
	}
	fakeDebootstrap(t)
	t.Setenv(MirrorEnv, "fail")
	repo := t.TempDir()
	_, err := CachedDebianRootfs(context.Background(), repo, nil)
	if err == nil || !strings.Contains(err.Error(), "E: Failed getting release file") {
		t.Fatalf("CachedDebianRootfs with a failing debootstrap: %v; want its output in the error", err)
	}
	if debianComplete(filepath.Join(repo, ".cache/rootfs/debian-"+DebianSuite)) {
		t.Error("a failed build left a complete-looking tree")
	}
}
