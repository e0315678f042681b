package cmd

import (
	"flag"
	"fmt"
	"testing"

	"bulwark.dev/runsc/config"
)

func parseBoot(t *testing.T, args ...string) (*Boot, *flag.FlagSet) {
	t.Helper()
	b := &Boot{Conf: &config.Config{LogFormat: "text"}}
	f := flag.NewFlagSet("boot", flag.ContinueOnError)
	b.SetFlags(f)
	if err := f.Parse(args); err != nil {
		t.Fatal(err)
	}
	return b, f
}

func TestBootFlags(t *testing.T) {
	b, f := parseBoot(t, "--id=c1", "--bundle=/b", "--spec-fd=3", "--controller-fd=4",
		"--exit-fd=5", "--stdio-fds=6,7,8", "--io-fds=9,10")
	a, err := b.args(f)
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprintf("%s %s %d %d %d %v %v", a.ID, a.BundleDir, a.SpecFD, a.ControllerFD, a.ExitFD, a.StdioFDs, a.IOFDs)
	if want := "c1 /b 3 4 5 [6 7 8] [9 10]"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if a.Conf != b.Conf {
		t.Error("global config not passed on")
	}
}

func TestBootFlagErrors(t *testing.T) {
	base := []string{"--id=c1", "--spec-fd=3", "--controller-fd=4", "--exit-fd=5", "--io-fds=9"}
	for name, extra := range map[string][]string{
		"no id":     {"--id="},
		"no spec":   {"--spec-fd=-1"},
		"no io":     {"--io-fds="},
		"bad io":    {"--io-fds=9,x"},
		"two stdio": {"--stdio-fds=0,1"},
		"extra arg": {"stray"},
	} {
		b, f := parseBoot(t, append(append([]string{}, base...), extra...)...)
		if _, err := b.args(f); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
