package main

import (
	"archive/tar"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestWriteRootfsTarball(t *testing.T) {
	src := t.TempDir()
	if err := os.MkdirAll(filepath.Join(src, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "bin", "busybox"), []byte("ELF"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("busybox", filepath.Join(src, "bin", "sh")); err != nil {
		t.Fatal(err)
	}
	dst := t.TempDir()
	if err := writeRootfsTarball(src, dst); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dst, tarballName))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	got := map[string]*tar.Header{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got[h.Name] = h
		if h.Name == "./bin/busybox" {
			data, _ := io.ReadAll(tr)
			if string(data) != "ELF" {
				t.Errorf("busybox content = %q", data)
			}
		}
	}
	for _, name := range []string{"./", "./bin/", "./bin/busybox", "./bin/sh"} {
		h, ok := got[name]
		if !ok {
			t.Errorf("tarball lacks %q; has %v", name, got)
			continue
		}
		if h.Uid != 0 || h.Gid != 0 {
			t.Errorf("%s owned by %d:%d, want 0:0", name, h.Uid, h.Gid)
		}
	}
	if h := got["./bin/sh"]; h != nil && (h.Typeflag != tar.TypeSymlink || h.Linkname != "busybox") {
		t.Errorf("./bin/sh = type %c -> %q, want a symlink to busybox", h.Typeflag, h.Linkname)
	}
	if h := got["./bin/busybox"]; h != nil && h.Mode&0o111 == 0 {
		t.Errorf("./bin/busybox mode %o is not executable", h.Mode)
	}
	if entries, _ := os.ReadDir(dst); len(entries) != 1 {
		t.Errorf("temporary files left in %s: %v", dst, entries)
	}
}
