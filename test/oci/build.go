package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"
)

// toolsModule is the upstream module whose validation suite we run.
const toolsModule = "github.com/opencontainers/runtime-tools"

// goMod is the temporary module the suite is built in. runtime-tools v0.9.0
// predates Go modules, so its dependencies are pinned here: runtime-spec to
// v1.0.2 as the acceptance test asks, selinux to the last release that still
// has label.FileLabel (runtimetest uses it), the rest to versions that build.
const goMod = `module bulwark.dev/ocivalidation

go 1.21

require (
	github.com/blang/semver v3.5.1+incompatible
	github.com/cpuguy83/go-md2man/v2 v2.0.7
	github.com/cyphar/filepath-securejoin v0.5.1
	github.com/hashicorp/errwrap v1.0.0
	github.com/hashicorp/go-multierror v1.1.1
	github.com/mndrix/tap-go v0.0.0-20171203230836-629fa407e90b
	github.com/mrunalp/fileutils v0.5.1
	github.com/opencontainers/runtime-spec v1.0.2
	github.com/opencontainers/runtime-tools v0.9.0
	github.com/opencontainers/selinux v1.11.1
	github.com/russross/blackfriday/v2 v2.1.0
	github.com/satori/go.uuid v1.2.0
	github.com/sirupsen/logrus v1.10.2
	github.com/syndtr/gocapability v0.0.0-20200815063812-42c35b437635
	github.com/urfave/cli v1.22.17
	github.com/xeipuuv/gojsonpointer v0.0.0-20180127040702-4e3ac2762d5f
	github.com/xeipuuv/gojsonreference v0.0.0-20180127040603-bd5ef7bd5415
	github.com/xeipuuv/gojsonschema v1.2.0
	golang.org/x/sys v0.49.0
	gopkg.in/yaml.v2 v2.4.0
)

replace github.com/opencontainers/runtime-spec => github.com/opencontainers/runtime-spec v1.0.2
`

// buildVersion changes whenever the layout of the cache changes.
const buildVersion = "2"

// suite is a built validation suite: the directory the programs must run
// in (it holds runtimetest and the rootfs tarball, which they open by
// relative path) and the programs, by name.
type suite struct {
	dir      string
	programs []string // absolute paths, sorted
}

// buildSuite returns the validation programs and runtimetest built under
// cache/bin, building them first unless a build from the same go.mod and Go
// toolchain is there.
func buildSuite(cache string) (*suite, error) {
	bin := filepath.Join(cache, "bin")
	stampPath := filepath.Join(cache, "bin.stamp")
	stamp := buildStamp()
	if got, err := os.ReadFile(stampPath); err != nil || string(got) != stamp {
		if err := build(cache, bin); err != nil {
			return nil, err
		}
		if err := os.WriteFile(stampPath, []byte(stamp), 0o644); err != nil {
			return nil, fmt.Errorf("writing %q: %w", stampPath, err)
		}
	}
	entries, err := os.ReadDir(bin)
	if err != nil {
		return nil, fmt.Errorf("listing built programs: %w", err)
	}
	s := &suite{dir: bin}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".t") {
			s.programs = append(s.programs, filepath.Join(bin, e.Name()))
		}
	}
	sort.Strings(s.programs)
	if len(s.programs) == 0 {
		return nil, fmt.Errorf("no validation programs in %s (remove %s to rebuild)", bin, stampPath)
	}
	return s, nil
}

// buildStamp identifies what a build depends on.
func buildStamp() string {
	h := sha256.Sum256([]byte(goMod))
	return fmt.Sprintf("layout %s\n%s\ngo.mod sha256 %s\n", buildVersion, runtime.Version(), hex.EncodeToString(h[:]))
}

// build creates the temporary module, fetches runtime-tools through the Go
// module proxy and builds every validation/<name> program into bin/<name>.t
// (upstream's naming) and cmd/runtimetest into bin/runtimetest.
func build(cache, bin string) error {
	fmt.Fprintf(os.Stderr, "building the %s validation suite into %s ...\n", toolsModule, bin)
	mod, err := os.MkdirTemp("", "bw-oci-mod-")
	if err != nil {
		return fmt.Errorf("creating a temporary module: %w", err)
	}
	defer os.RemoveAll(mod)
	if err := os.WriteFile(filepath.Join(mod, "go.mod"), []byte(goMod), 0o644); err != nil {
		return fmt.Errorf("writing the temporary go.mod: %w", err)
	}
	out := filepath.Join(mod, "out")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("creating %q: %w", out, err)
	}
	steps := [][]string{
		// Resolves the packages' imports against the pinned requirements
		// and writes go.sum.
		{"go", "get", toolsModule + "/validation/...@v0.9.0", toolsModule + "/cmd/runtimetest@v0.9.0"},
		// Stripped: 58 programs of about 7 MB each otherwise.
		{"go", "build", "-trimpath", "-ldflags=-s -w", "-o", out + "/", toolsModule + "/validation/..."},
		// As upstream's Makefile: static, because it runs inside the container.
		{"go", "build", "-trimpath", "-ldflags=-s -w", "-o", filepath.Join(out, "runtimetest"), toolsModule + "/cmd/runtimetest"},
	}
	for _, args := range steps {
		if err := goCmd(mod, args); err != nil {
			return err
		}
	}
	// Replace the old build with the new one in one rename.
	staged, err := os.MkdirTemp(cache, "bin.tmp-")
	if err != nil {
		return fmt.Errorf("staging the build: %w", err)
	}
	defer os.RemoveAll(staged)
	entries, err := os.ReadDir(out)
	if err != nil {
		return fmt.Errorf("listing %q: %w", out, err)
	}
	for _, e := range entries {
		name := e.Name()
		if name != "runtimetest" {
			name += ".t"
		}
		if err := os.Rename(filepath.Join(out, e.Name()), filepath.Join(staged, name)); err != nil {
			return fmt.Errorf("moving %s into the cache: %w", e.Name(), err)
		}
	}
	if err := os.Chmod(staged, 0o755); err != nil {
		return fmt.Errorf("setting mode of %q: %w", staged, err)
	}
	if err := os.RemoveAll(bin); err != nil {
		return fmt.Errorf("removing the old build %q: %w", bin, err)
	}
	if err := os.Rename(staged, bin); err != nil {
		return fmt.Errorf("installing the build %q: %w", bin, err)
	}
	return nil
}

// goCmd runs a go command in the temporary module dir, cgo-free and with
// no workspace, and cut off after ten minutes.
func goCmd(dir string, args []string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOWORK=off")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s (in %s): %w\n%s", strings.Join(args, " "), dir, err, msg)
	}
	return nil
}
