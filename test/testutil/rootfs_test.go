package testutil

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestBuildBusyboxRootfs(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "rootfs")
	if err := BuildBusyboxRootfs(dir); err != nil {
		t.Fatalf("BuildBusyboxRootfs: %v", err)
	}
	for _, d := range []string{"proc", "dev", "tmp", "etc", "root", "sys", "dev/pts", "dev/shm"} {
		fi, err := os.Stat(filepath.Join(dir, d))
		if err != nil || !fi.IsDir() {
			t.Errorf("/%s: want a directory, got %v (err %v)", d, fi, err)
		}
	}
	if fi, err := os.Stat(filepath.Join(dir, "tmp")); err == nil && fi.Mode()&os.ModeSticky == 0 {
		t.Errorf("/tmp mode %v: want the sticky bit", fi.Mode())
	}
	passwd, err := os.ReadFile(filepath.Join(dir, "etc/passwd"))
	if err != nil || !strings.HasPrefix(string(passwd), "root:x:0:0:") {
		t.Errorf("/etc/passwd = %q (err %v): want a root entry first", passwd, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "etc/group")); err != nil {
		t.Errorf("/etc/group: %v", err)
	}
	for _, applet := range []string{"sh", "echo", "wc", "uname", "ls", "cat", "true", "sleep", "kill"} {
		target, err := os.Readlink(filepath.Join(dir, "bin", applet))
		if err != nil || target != "busybox" {
			t.Errorf("/bin/%s: want a symlink to busybox, got %q (err %v)", applet, target, err)
		}
	}
	// The tree works on the host: its sh applet runs through the symlink.
	out, err := exec.Command(filepath.Join(dir, "bin/sh"), "-c", "echo a b c | wc -w").Output()
	if err != nil || strings.TrimSpace(string(out)) != "3" {
		t.Errorf("rootfs /bin/sh -c 'echo a b c | wc -w' = %q (err %v): want 3", out, err)
	}
}

func TestCachedBusyboxRootfs(t *testing.T) {
	repo := t.TempDir()
	first, err := CachedBusyboxRootfs(repo)
	if err != nil {
		t.Fatalf("CachedBusyboxRootfs: %v", err)
	}
	if want := filepath.Join(repo, ".cache/rootfs/busybox"); first != want {
		t.Errorf("CachedBusyboxRootfs = %q, want %q", first, want)
	}
	marker := filepath.Join(first, "marker")
	if err := os.WriteFile(marker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	second, err := CachedBusyboxRootfs(repo)
	if err != nil || second != first {
		t.Fatalf("second CachedBusyboxRootfs = %q, %v; want %q", second, err, first)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Errorf("a valid cached tree was rebuilt: %v", err)
	}
	// A stale stamp makes it rebuild.
	if err := os.WriteFile(filepath.Join(first, stampFile), []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := CachedBusyboxRootfs(repo); err != nil {
		t.Fatalf("rebuilding a stale tree: %v", err)
	}
	if _, err := os.Stat(marker); !os.IsNotExist(err) {
		t.Errorf("a stale cached tree was kept (marker: %v)", err)
	}
	left, _ := filepath.Glob(filepath.Join(repo, ".cache/rootfs/busybox.*"))
	if len(left) != 0 {
		t.Errorf("temporary trees left behind: %v", left)
	}
}

func TestDeclaresModule(t *testing.T) {
	for _, c := range []struct {
		gomod string
		want  bool
	}{
		{"module bulwark.dev\n\ngo 1.26\n", true},
		{"// x\nmodule \"bulwark.dev\"\n", true},
		{"module bulwark.dev/other\n", false},
		{"go 1.26\n", false},
	} {
		if got := declaresModule(c.gomod, ModulePath); got != c.want {
			t.Errorf("declaresModule(%q) = %v, want %v", c.gomod, got, c.want)
		}
	}
}

func TestRepoRoot(t *testing.T) {
	root, err := RepoRoot()
	if err != nil {
		t.Fatalf("RepoRoot: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "test/testutil/repo.go")); err != nil {
		t.Errorf("RepoRoot = %q, which does not hold this package: %v", root, err)
	}
}
