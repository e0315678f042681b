package conformance

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"bulwark.dev/test/testutil"
)

// InstallDir is where the programs live inside the root filesystem:
// /conformance/<area>/<name>.
const InstallDir = "conformance"

// compileTimeout bounds one gcc run.
const compileTimeout = 2 * time.Minute

// Program is one conformance program: src/<Area>/<Name>.c.
type Program struct {
	Area, Name string
	Src        string // path of the C source
}

// ID is "<area>/<name>".
func (p Program) ID() string { return p.Area + "/" + p.Name }

// Path is the program's absolute path inside the container.
func (p Program) Path() string { return path.Join("/", InstallDir, p.Area, p.Name) }

// FindPrograms lists src/<area>/*.c, sorted by area and name.
func FindPrograms(src string) ([]Program, error) {
	files, err := filepath.Glob(filepath.Join(src, "*", "*.c"))
	if err != nil {
		return nil, fmt.Errorf("listing programs under %q: %w", src, err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no programs under %q (want src/<area>/<name>.c)", src)
	}
	sort.Strings(files)
	progs := make([]Program, 0, len(files))
	for _, f := range files {
		progs = append(progs, Program{
			Area: filepath.Base(filepath.Dir(f)),
			Name: strings.TrimSuffix(filepath.Base(f), ".c"),
			Src:  f,
		})
	}
	return progs, nil
}

// Compile builds p with gcc -static -O1 into <rootfs>/conformance/<area>/<name>.
// The error carries gcc's output.
func Compile(p Program, rootfs string) error {
	out := filepath.Join(rootfs, InstallDir, p.Area, p.Name)
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return fmt.Errorf("creating %q: %w", filepath.Dir(out), err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), compileTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "gcc", "-static", "-O1", "-Wall", "-Wextra", "-o", out, p.Src)
	if msg, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("compiling %s (gcc -static -O1 -o %s %s): %w\n%s", p.ID(), out, p.Src, err, msg)
	}
	return nil
}

// CopyTree copies the directory tree src to dst (which must not exist):
// directories with their modes, regular files and symlinks. Other file types
// are skipped.
func CopyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("copying %q: %w", src, err)
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return fmt.Errorf("copying %q: %w", p, err)
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return fmt.Errorf("copying %q: %w", p, err)
		}
		switch mode := info.Mode(); {
		case mode.IsDir():
			if err := os.Mkdir(target, 0o700); err != nil {
				return fmt.Errorf("copying %q: %w", p, err)
			}
			// Chmod is not subject to the umask and keeps the sticky bit.
			if err := os.Chmod(target, mode&(fs.ModePerm|fs.ModeSticky|fs.ModeSetuid|fs.ModeSetgid)); err != nil {
				return fmt.Errorf("setting mode of %q: %w", target, err)
			}
		case mode&fs.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return fmt.Errorf("copying %q: %w", p, err)
			}
			if err := os.Symlink(link, target); err != nil {
				return fmt.Errorf("copying %q: %w", p, err)
			}
		case mode.IsRegular():
			if err := testutil.CopyFile(p, target, mode.Perm()); err != nil {
				return err
			}
		}
		return nil
	})
}
