package docker

import (
	"strings"
	"testing"
)

// touch allocates N MiB (argv[1]), writes to every page and prints "allocated".
const touch = `import sys
b = bytearray(int(sys.argv[1]) * 1024 * 1024)
for i in range(0, len(b), 4096):
    b[i] = 1
print("allocated")`

// TestDockerMemoryLimit: under `docker run --memory 64m` an allocation of
// 200 MiB fails inside the container (MemoryError or the OOM killer), while
// 16 MiB succeeds.
func TestDockerMemoryLimit(t *testing.T) {
	start(t)
	run := func(mib string) (string, int) {
		res := docker(t, "run", "--rm", "--runtime="+runtimeNone, "--memory", "64m", debianImage,
			"python3", "-c", touch, mib)
		t.Logf("%s", res)
		return res.Stdout, res.ExitCode
	}
	if out, code := run("16"); code != 0 || !strings.Contains(out, "allocated") {
		t.Fatalf("allocating 16 MiB under a 64 MiB limit: exit %d, stdout %q; want 0 and \"allocated\"", code, out)
	}
	if out, code := run("200"); code == 0 || strings.Contains(out, "allocated") {
		t.Errorf("allocating 200 MiB under a 64 MiB limit succeeded (exit %d, stdout %q); want it to fail", code, out)
	}
}
