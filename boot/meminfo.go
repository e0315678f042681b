package boot

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// parseMemTotal returns MemTotal from /proc/meminfo text, in bytes.
func parseMemTotal(r io.Reader) (uint64, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == "MemTotal:" {
			kb, err := strconv.ParseUint(f[1], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("MemTotal %q: %w", f[1], err)
			}
			if len(f) >= 3 && f[2] != "kB" {
				return 0, fmt.Errorf("MemTotal unit %q", f[2])
			}
			return kb * 1024, nil
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("no MemTotal line")
}

// totalMemory is the memory the sandbox reports: the spec's memory limit
// when it sets one below the host's, else the host's MemTotal. It must be
// called before confine (it reads /proc/meminfo).
func totalMemory(spec *specs.Spec) (uint64, error) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, fmt.Errorf("reading host memory size: %w", err)
	}
	defer f.Close()
	host, err := parseMemTotal(f)
	if err != nil {
		return 0, fmt.Errorf("parsing /proc/meminfo: %w", err)
	}
	return memoryLimit(spec, host), nil
}

// memoryLimit applies the spec's memory limit to the host's total.
func memoryLimit(spec *specs.Spec, host uint64) uint64 {
	if l := spec.Linux; l != nil && l.Resources != nil && l.Resources.Memory != nil {
		if lim := l.Resources.Memory.Limit; lim != nil && *lim > 0 && uint64(*lim) < host {
			return uint64(*lim)
		}
	}
	return host
}
