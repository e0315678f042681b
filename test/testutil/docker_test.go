package testutil

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// fakeImporter stands in for `docker import - REF`: its first global
// argument is where to store the tar it reads, and it saves REF beside it.
const fakeImporter = `#!/bin/sh
out=$1; shift
[ "$1" = import ] && [ "$2" = - ] || { echo "bad args: $*" >&2; exit 9; }
cat > "$out" && echo "$3" > "$out.ref"
`

func TestImportRootfsPipesTheTree(t *testing.T) {
	dir := t.TempDir()
	rootfs := filepath.Join(dir, "rootfs")
	if err := os.MkdirAll(filepath.Join(rootfs, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rootfs, "bin", "hello"), []byte("hi\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	fake := filepath.Join(dir, "fake-docker")
	if err := os.WriteFile(fake, []byte(fakeImporter), 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "image.tar")
	if err := ImportRootfs(Runtime{Bin: fake, Global: []string{out}}, rootfs, "img:test"); err != nil {
		t.Fatal(err)
	}
	list, err := exec.Command("tar", "-tf", out).Output()
	if err != nil {
		t.Fatalf("listing the imported tar: %v", err)
	}
	if names := strings.Fields(string(list)); !slices.Contains(names, "./bin/hello") {
		t.Errorf("imported tar lists %q, want ./bin/hello among them", names)
	}
	if ref, _ := os.ReadFile(out + ".ref"); string(ref) != "img:test\n" {
		t.Errorf("imported as %q, want img:test", ref)
	}
}

func TestImportRootfsReportsImportFailure(t *testing.T) {
	dir := t.TempDir()
	fake := filepath.Join(dir, "fake-docker")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\necho no daemon >&2\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	err := ImportRootfs(Runtime{Bin: fake}, dir, "img:test")
	if err == nil || !strings.Contains(err.Error(), "no daemon") {
		t.Errorf("ImportRootfs with a failing CLI: err = %v, want one quoting its output", err)
	}
}

func TestTail(t *testing.T) {
	p := filepath.Join(t.TempDir(), "log")
	if err := os.WriteFile(p, []byte("a\nb\nc\nd\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := Tail(p, 2); got != "c\nd" {
		t.Errorf("Tail(2) = %q, want %q", got, "c\nd")
	}
	if got := Tail(p, 10); got != "a\nb\nc\nd" {
		t.Errorf("Tail(10) = %q, want all lines", got)
	}
	if got := Tail(p+".missing", 2); !strings.HasPrefix(got, "<reading ") {
		t.Errorf("Tail of a missing file = %q, want a <reading ...> note", got)
	}
}
