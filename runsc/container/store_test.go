package container

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestValidateID(t *testing.T) {
	for _, id := range []string{"a", "abc-123", "A_b+c.d", ".hidden", "...", strings.Repeat("x", 255)} {
		if err := ValidateID(id); err != nil {
			t.Errorf("ValidateID(%q) = %v, want nil", id, err)
		}
	}
	for _, id := range []string{"", ".", "..", "a/b", "../x", "a b", "a,b", "é", "a\x00", strings.Repeat("x", 256)} {
		err := ValidateID(id)
		if err == nil || !strings.Contains(err.Error(), "invalid container id") {
			t.Errorf("ValidateID(%q) = %v, want invalid container id", id, err)
		}
	}
}

func TestFindID(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"abc", "abcdef", "abd", "xyz"} {
		if err := os.Mkdir(filepath.Join(root, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	// A stray file is not a container.
	if err := os.WriteFile(filepath.Join(root, "zfile"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ in, want, err string }{
		{"abc", "abc", ""},     // exact match wins over the prefix of abcdef
		{"abcd", "abcdef", ""}, // unique prefix
		{"x", "xyz", ""},       // unique prefix
		{"ab", "", `container id "ab" is ambiguous`},
		{"q", "", `container "q" does not exist`},
		{"zfile", "", `container "zfile" does not exist`},
		{"a/b", "", "invalid container id"},
	}
	for _, tt := range tests {
		got, err := FindID(root, tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("FindID(%q) = %q, %v; want error containing %q", tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("FindID(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	if _, err := FindID(root, "q"); !errors.Is(err, ErrNotExist) {
		t.Errorf("FindID error %v does not match ErrNotExist", err)
	}
	if ids, err := IDs(filepath.Join(root, "missing")); err != nil || len(ids) != 0 {
		t.Errorf("IDs(missing root) = %v, %v; want empty", ids, err)
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	for _, content := range []string{"old", "new"} {
		if err := writeFileAtomic(path, []byte(content), 0o640); err != nil {
			t.Fatal(err)
		}
		if got, _ := os.ReadFile(path); string(got) != content {
			t.Errorf("content = %q, want %q", got, content)
		}
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("mode = %v, %v; want 0640", fi.Mode(), err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("directory holds %d entries, want only the file (no temp files left)", len(ents))
	}
	if err := writeFileAtomic(filepath.Join(dir, "missing", "f"), nil, 0o600); err == nil {
		t.Error("writeFileAtomic into a missing directory succeeded")
	}
}

// A runsc killed while saving leaves a temp file next to the old meta.json:
// loading ignores it and sees the old state.
func TestLeftoverTempFileIgnored(t *testing.T) {
	newFake(t)
	env := newEnv(t)
	env.mustNew(t, "c1")
	dir := filepath.Join(env.conf.Root, "c1")
	if err := os.WriteFile(filepath.Join(dir, ".meta.json.tmp-123"), []byte(`{"id":"c1","stat`), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(env.conf.Root, "c1")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if c.Status != Created {
		t.Errorf("status = %s, want created", c.Status)
	}
	cs, err := LoadAll(env.conf.Root)
	if err != nil || len(cs) != 1 {
		t.Fatalf("LoadAll = %d containers, %v; want 1", len(cs), err)
	}
	if err := c.Delete(false); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if left := env.rootEntries(t); len(left) != 0 {
		t.Errorf("left under --root after delete: %v", left)
	}
}

func TestConcurrentCreate(t *testing.T) {
	newFake(t)
	env := newEnv(t)
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = New(env.conf, env.args("same"))
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case err.Error() != `container with id "same" already exists`:
			t.Errorf("unexpected error: %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d of %d concurrent creates succeeded, want exactly 1", ok, n)
	}
	c, err := Load(env.conf.Root, "same")
	if err != nil || c.Status != Created {
		t.Fatalf("Load after create = %v, %v; want created", c, err)
	}
}
