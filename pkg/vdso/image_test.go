package vdso

import (
	"bytes"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestImage checks what glibc's and Go's vDSO parsers rely on: an x86-64
// ET_DYN whose single PT_LOAD (read+exec) starts at address 0 with the
// headers, a PT_DYNAMIC naming both hash tables, the symbol and string
// tables and the version tables, no relocations, and every export defined
// with version LINUX_2.6.
func TestImage(t *testing.T) {
	f, err := elf.NewFile(bytes.NewReader(image))
	if err != nil {
		t.Fatalf("parsing the image: %v", err)
	}
	if f.Type != elf.ET_DYN || f.Machine != elf.EM_X86_64 || f.Class != elf.ELFCLASS64 {
		t.Fatalf("type %v machine %v class %v, want an x86-64 ELF64 ET_DYN", f.Type, f.Machine, f.Class)
	}
	var loads, dynamics int
	for _, p := range f.Progs {
		switch p.Type {
		case elf.PT_LOAD:
			loads++
			if p.Vaddr != 0 || p.Off != 0 || p.Flags != elf.PF_R|elf.PF_X || p.Memsz != p.Filesz {
				t.Errorf("PT_LOAD %+v, want read+exec file bytes from 0 at 0", p.ProgHeader)
			}
		case elf.PT_DYNAMIC:
			dynamics++
		case elf.PT_TLS, elf.PT_INTERP:
			t.Errorf("unexpected %v segment", p.Type)
		}
	}
	if loads != 1 || dynamics != 1 {
		t.Errorf("%d PT_LOAD and %d PT_DYNAMIC segments, want 1 of each", loads, dynamics)
	}
	if uintptr(len(image)) > imageSize() || imageSize() > 2*4096 {
		t.Errorf("image of %d bytes maps %d", len(image), imageSize())
	}
	for _, tag := range []elf.DynTag{elf.DT_HASH, elf.DT_GNU_HASH, elf.DT_SYMTAB, elf.DT_STRTAB, elf.DT_VERSYM, elf.DT_VERDEF} {
		if v, err := f.DynValue(tag); err != nil || len(v) != 1 {
			t.Errorf("dynamic tag %v: %v %v", tag, v, err)
		}
	}
	for _, tag := range []elf.DynTag{elf.DT_RELA, elf.DT_REL, elf.DT_JMPREL, elf.DT_NEEDED, elf.DT_TEXTREL} {
		if v, _ := f.DynValue(tag); len(v) != 0 {
			t.Errorf("dynamic tag %v present: the image must need no relocation", tag)
		}
	}
	if so, err := f.DynString(elf.DT_SONAME); err != nil || len(so) != 1 || so[0] != "linux-vdso.so.1" {
		t.Errorf("DT_SONAME %q (%v), want linux-vdso.so.1", so, err)
	}
	for _, s := range f.Sections {
		if s.Type == elf.SHT_RELA || s.Type == elf.SHT_REL {
			t.Errorf("relocation section %s", s.Name)
		}
	}

	syms, err := f.DynamicSymbols()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]elf.Symbol{}
	for _, s := range syms {
		got[s.Name] = s
	}
	for name, alias := range map[string]string{
		"__vdso_clock_gettime": "clock_gettime",
		"__vdso_gettimeofday":  "gettimeofday",
		"__vdso_time":          "time",
		"__vdso_getcpu":        "getcpu",
		"__vdso_clock_getres":  "clock_getres",
	} {
		s, ok := got[name]
		if !ok || elf.ST_TYPE(s.Info) != elf.STT_FUNC || elf.ST_BIND(s.Info) != elf.STB_GLOBAL || s.Value == 0 || s.Version != "LINUX_2.6" {
			t.Errorf("%s: %+v, want a global function of version LINUX_2.6", name, s)
			continue
		}
		a, ok := got[alias]
		if !ok || elf.ST_BIND(a.Info) != elf.STB_WEAK || a.Value != s.Value || a.Version != "LINUX_2.6" {
			t.Errorf("%s: %+v, want a weak alias of %s of version LINUX_2.6", alias, a, name)
		}
	}
}

// TestImageIsGenerated rebuilds the image with gcc and checks that the
// committed image_amd64.go is what gen.go makes of src/.
func TestImageIsGenerated(t *testing.T) {
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("gcc is not installed (scripts/install.sh installs it): cannot rebuild the vDSO")
	}
	out := filepath.Join(t.TempDir(), "image.go")
	cmd := exec.Command("go", "run", "gen.go", "-o", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go run gen.go: %v\n%s", err, b)
	}
	want, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	have, err := os.ReadFile("image_amd64.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(have, want) {
		t.Error("image_amd64.go is stale: run go generate ./pkg/vdso")
	}
}
