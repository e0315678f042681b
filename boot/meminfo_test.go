package boot

import (
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestParseMemTotal(t *testing.T) {
	got, err := parseMemTotal(strings.NewReader("MemFree:  10 kB\nMemTotal:       24683620 kB\n"))
	if err != nil || got != 24683620*1024 {
		t.Errorf("got %d, %v", got, err)
	}
	for _, bad := range []string{"", "MemTotal: x kB\n", "MemTotal: 5 MB\n"} {
		if _, err := parseMemTotal(strings.NewReader(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestMemoryLimit(t *testing.T) {
	limit := func(n int64) *specs.Spec {
		return &specs.Spec{Linux: &specs.Linux{Resources: &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: &n}}}}
	}
	const host = 8 << 30
	for _, c := range []struct {
		spec *specs.Spec
		want uint64
	}{
		{&specs.Spec{}, host},
		{limit(1 << 30), 1 << 30},
		{limit(16 << 30), host},
		{limit(-1), host},
	} {
		if got := memoryLimit(c.spec, host); got != c.want {
			t.Errorf("memoryLimit = %d, want %d", got, c.want)
		}
	}
}
