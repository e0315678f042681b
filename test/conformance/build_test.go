package conformance

import (
	"os"
	"path/filepath"
	"testing"
)

func TestFindPrograms(t *testing.T) {
	progs, err := FindPrograms(srcDir)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, p := range progs {
		seen[p.Area] = true
		if p.Path() != "/conformance/"+p.Area+"/"+p.Name {
			t.Errorf("%s: path %q", p.ID(), p.Path())
		}
	}
	for _, a := range []string{"files", "processes", "signals", "pipes", "memory", "misc"} {
		if !seen[a] {
			t.Errorf("no programs for area %q under %s", a, srcDir)
		}
	}
	if _, err := FindPrograms(t.TempDir()); err == nil {
		t.Error("FindPrograms of an empty directory: want an error")
	}
}

func TestCopyTree(t *testing.T) {
	src := filepath.Join(t.TempDir(), "src")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(src, "d"), 0o755))
	must(os.Mkdir(filepath.Join(src, "sticky"), 0o755))
	must(os.Chmod(filepath.Join(src, "sticky"), os.ModeSticky|0o777))
	must(os.WriteFile(filepath.Join(src, "d", "f"), []byte("data"), 0o640))
	must(os.Symlink("d/f", filepath.Join(src, "link")))
	dst := filepath.Join(t.TempDir(), "dst")
	must(CopyTree(src, dst))
	if data, err := os.ReadFile(filepath.Join(dst, "d", "f")); err != nil || string(data) != "data" {
		t.Errorf("copied file: %q, %v", data, err)
	}
	if fi, err := os.Stat(filepath.Join(dst, "d", "f")); err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("copied file mode: %v, %v", fi.Mode(), err)
	}
	if fi, err := os.Stat(filepath.Join(dst, "sticky")); err != nil || fi.Mode()&os.ModeSticky == 0 || fi.Mode().Perm() != 0o777 {
		t.Errorf("copied sticky dir mode: %v, %v", fi.Mode(), err)
	}
	if l, err := os.Readlink(filepath.Join(dst, "link")); err != nil || l != "d/f" {
		t.Errorf("copied symlink: %q, %v", l, err)
	}
	if err := CopyTree(src, dst); err == nil {
		t.Error("CopyTree onto an existing tree: want an error")
	}
}
