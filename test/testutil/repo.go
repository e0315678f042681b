package testutil

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// ModulePath is the Go module path of the repository.
const ModulePath = "bulwark.dev"

// RepoRoot returns the repository root: the nearest directory at or above
// the working directory whose go.mod declares ModulePath.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("finding repository root: %w", err)
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && declaresModule(string(data), ModulePath) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("finding repository root: no go.mod for module %s above the working directory", ModulePath)
		}
		dir = parent
	}
}

// declaresModule reports whether go.mod text declares module path.
func declaresModule(gomod, path string) bool {
	for _, line := range strings.Split(gomod, "\n") {
		f := strings.Fields(line)
		if len(f) == 2 && f[0] == "module" && strings.Trim(f[1], `"`) == path {
			return true
		}
	}
	return false
}

// BuildRunsc builds bulwark.dev/runsc from the repository at repo into
// outDir/runsc and returns the binary's path. The build may take a while on
// a busy machine; it is cut off after ten minutes.
func BuildRunsc(repo, outDir string) (string, error) {
	out := filepath.Join(outDir, "runsc")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, ModulePath+"/runsc")
	cmd.Dir = repo
	// Like scripts/install.sh: a static, cgo-free binary, so the gofer can
	// drop its capabilities (that needs all threads under Go's control).
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building runsc (go build -o %s %s/runsc): %w\n%s", out, ModulePath, err, msg)
	}
	return out, nil
}
