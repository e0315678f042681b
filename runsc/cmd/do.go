package cmd

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"bulwark.dev/pkg/specutils"
	"bulwark.dev/runsc/config"
	"bulwark.dev/runsc/container"

	"github.com/google/subcommands"
)

// Do implements `runsc do`.
type Do struct {
	Conf *config.Config

	cwd string
	env envList
}

// Name implements subcommands.Command.
func (*Do) Name() string { return "do" }

// Synopsis implements subcommands.Command.
func (*Do) Synopsis() string { return "run a command in a throw-away sandbox over the host's root" }

// Usage implements subcommands.Command.
func (*Do) Usage() string {
	return usageWithFlags("do [flags] <command> [args...]", `
Runs <command> in a new sandbox whose root filesystem is the host's "/",
read-only, with an in-memory writable layer on top: the command sees the
host's files and may change them, but no change reaches the host. It gets
its own /proc, /dev and an empty /tmp, no network (--network=none is
forced), the caller's working directory, environment, user and group, and
runsc's stdin, stdout and stderr.

runsc passes the signals it receives (INT, TERM, HUP, QUIT, USR1, USR2) on
to the command and exits with its status (the exit code, or 128+signal).
The container (a unique id "do-..." under --root) and its temporary bundle
are removed afterwards, also after errors and signals.

Example:
    runsc do sh -c 'echo hello > /tmp/x && cat /tmp/x'

Exit status: the command's status; 1 error, 2 usage error.
`)
}

// SetFlags implements subcommands.Command.
func (d *Do) SetFlags(f *flag.FlagSet) {
	f.StringVar(&d.cwd, "cwd", "", "absolute working directory of the command (default: runsc's own)")
	f.Var(&d.env, "env", "KEY=VALUE to add to the command's environment (repeatable)")
}

// Execute implements subcommands.Command.
func (d *Do) Execute(_ context.Context, f *flag.FlagSet, _ ...any) subcommands.ExitStatus {
	if f.NArg() == 0 {
		return usageError(f, "expected a command to run")
	}
	conf := *d.Conf
	conf.Overlay = true
	conf.Network = "none"
	id, err := doID()
	if err != nil {
		return failEarly(err)
	}
	s, err := newSession(&conf, id, "do")
	if err != nil {
		return failEarly(err)
	}
	defer s.close()
	cwd := d.cwd
	if cwd == "" {
		if cwd, err = os.Getwd(); err != nil {
			return s.fail(fmt.Errorf("getting the working directory: %w", err))
		}
	}
	if !filepath.IsAbs(cwd) {
		return s.fail(fmt.Errorf("invalid --cwd %q: must be an absolute path", cwd))
	}
	bundle, err := os.MkdirTemp("", "runsc-do-")
	if err != nil {
		return s.fail(fmt.Errorf("creating a bundle directory: %w", err))
	}
	defer os.RemoveAll(bundle)
	env := mergeEnv(os.Environ(), d.env)
	spec := specutils.HostSpec(f.Args(), env, cwd, uint32(os.Getuid()), uint32(os.Getgid()))
	if err := specutils.WriteSpec(bundle, spec); err != nil {
		return s.fail(err)
	}
	in := catchInterrupts()
	defer in.release()
	cont, err := container.New(&conf, container.Args{ID: id, Spec: spec, BundleDir: bundle})
	if err != nil {
		return s.fail(fmt.Errorf("creating sandbox for %q: %w", f.Arg(0), err))
	}
	return runForeground(s, in, cont)
}

// doID returns a fresh container id for `runsc do`.
func doID() (string, error) {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generating a container id: %w", err)
	}
	return "do-" + hex.EncodeToString(b), nil
}

// envList is a repeatable KEY=VALUE flag.
type envList []string

// String implements flag.Value.
func (e *envList) String() string { return strings.Join(*e, " ") }

// Set implements flag.Value.
func (e *envList) Set(v string) error {
	if k, _, ok := strings.Cut(v, "="); !ok || k == "" {
		return fmt.Errorf("%q is not KEY=VALUE", v)
	}
	*e = append(*e, v)
	return nil
}

// mergeEnv returns base with the KEY=VALUE entries of extra added, an entry
// of extra replacing one of base with the same key.
func mergeEnv(base, extra []string) []string {
	idx := map[string]int{}
	var out []string
	for _, kv := range append(append([]string(nil), base...), extra...) {
		k, _, _ := strings.Cut(kv, "=")
		if i, ok := idx[k]; ok {
			out[i] = kv
			continue
		}
		idx[k] = len(out)
		out = append(out, kv)
	}
	return out
}
