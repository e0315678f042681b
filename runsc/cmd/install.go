package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/subcommands"
)

// defaultDockerConfig is dockerd's configuration file.
const defaultDockerConfig = "/etc/docker/daemon.json"

// reloadHint tells the user how to make dockerd read its new configuration.
const reloadHint = "Reload dockerd to apply the change: systemctl reload docker (or send SIGHUP to dockerd)."

// Install implements `runsc install`.
type Install struct {
	runtime string
	config  string
	path    string
}

// Name implements subcommands.Command.
func (*Install) Name() string { return "install" }

// Synopsis implements subcommands.Command.
func (*Install) Synopsis() string { return "register runsc as a Docker runtime in daemon.json" }

// Usage implements subcommands.Command.
func (*Install) Usage() string {
	return usageWithFlags("install [flags] [-- runsc flags...]", `
Adds runsc to Docker's configuration (--config, default
/etc/docker/daemon.json) as the runtime --runtime (default "runsc"):

  "runtimes": {"runsc": {"path": "<path>", "runtimeArgs": [<runsc flags>]}}

The runsc flags after "--" (e.g. -- --debug-log=/tmp/runsc/) are passed
by dockerd to every runsc it starts. Every other setting of the file is
kept; the file is rewritten as JSON indented by two spaces (keys sorted).
A missing file is created; a file that is not valid JSON is left alone
and reported. Then reload dockerd (systemctl reload docker, or SIGHUP)
and run containers with "docker run --runtime=runsc".

Exit status: 0 installed, 1 error, 2 usage error.
`)
}

// SetFlags implements subcommands.Command.
func (i *Install) SetFlags(f *flag.FlagSet) {
	f.StringVar(&i.runtime, "runtime", "runsc", "the runtime's name in Docker (docker run --runtime=NAME)")
	f.StringVar(&i.config, "config", defaultDockerConfig, "dockerd's configuration file")
	f.StringVar(&i.path, "path", "", "the runsc binary dockerd runs (default: this runsc)")
}

// Execute implements subcommands.Command.
func (i *Install) Execute(_ context.Context, f *flag.FlagSet, _ ...any) subcommands.ExitStatus {
	for _, a := range f.Args() {
		if !strings.HasPrefix(a, "-") {
			return usageError(f, "unexpected argument %q: runsc flags for the runtime go after \"--\"", a)
		}
	}
	if i.runtime == "" {
		return usageError(f, "--runtime must not be empty")
	}
	path := i.path
	if path == "" {
		exe, err := os.Executable()
		if err != nil {
			return failEarly(fmt.Errorf("finding the runsc binary: %w", err))
		}
		path = exe
	}
	path, err := filepath.Abs(path)
	if err != nil {
		return failEarly(err)
	}
	err = editDockerConfig(i.config, func(cfg map[string]any) error {
		rts, err := runtimesOf(cfg, i.config)
		if err != nil {
			return err
		}
		rt := map[string]any{"path": path}
		if len(f.Args()) > 0 {
			rt["runtimeArgs"] = f.Args()
		}
		rts[i.runtime] = rt
		cfg["runtimes"] = rts
		return nil
	})
	if err != nil {
		return failEarly(err)
	}
	fmt.Fprintf(cliStdout, "Added runtime %q (%s) to %s.\n%s\n", i.runtime, path, i.config, reloadHint)
	return subcommands.ExitSuccess
}

// Uninstall implements `runsc uninstall`.
type Uninstall struct {
	runtime string
	config  string
}

// Name implements subcommands.Command.
func (*Uninstall) Name() string { return "uninstall" }

// Synopsis implements subcommands.Command.
func (*Uninstall) Synopsis() string { return "remove runsc's Docker runtime from daemon.json" }

// Usage implements subcommands.Command.
func (*Uninstall) Usage() string {
	return usageWithFlags("uninstall [flags]", `
Removes the runtime --runtime (default "runsc") from Docker's
configuration (--config, default /etc/docker/daemon.json), keeping every
other setting, and "runtimes" itself once it is empty. Then reload
dockerd (systemctl reload docker, or SIGHUP).

Exit status: 0 removed, 1 error (e.g. no such runtime), 2 usage error.
`)
}

// SetFlags implements subcommands.Command.
func (u *Uninstall) SetFlags(f *flag.FlagSet) {
	f.StringVar(&u.runtime, "runtime", "runsc", "the runtime's name in Docker")
	f.StringVar(&u.config, "config", defaultDockerConfig, "dockerd's configuration file")
}

// Execute implements subcommands.Command.
func (u *Uninstall) Execute(_ context.Context, f *flag.FlagSet, _ ...any) subcommands.ExitStatus {
	if f.NArg() != 0 {
		return usageError(f, "takes no arguments, got %d", f.NArg())
	}
	err := editDockerConfig(u.config, func(cfg map[string]any) error {
		rts, err := runtimesOf(cfg, u.config)
		if err != nil {
			return err
		}
		if _, ok := rts[u.runtime]; !ok {
			return fmt.Errorf("runtime %q is not in %s: nothing to uninstall", u.runtime, u.config)
		}
		delete(rts, u.runtime)
		if len(rts) == 0 {
			delete(cfg, "runtimes")
		} else {
			cfg["runtimes"] = rts
		}
		return nil
	})
	if err != nil {
		return failEarly(err)
	}
	fmt.Fprintf(cliStdout, "Removed runtime %q from %s.\n%s\n", u.runtime, u.config, reloadHint)
	return subcommands.ExitSuccess
}

// runtimesOf returns the "runtimes" object of a daemon.json (a new one if
// there is none).
func runtimesOf(cfg map[string]any, path string) (map[string]any, error) {
	v, ok := cfg["runtimes"]
	if !ok || v == nil {
		return map[string]any{}, nil
	}
	rts, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: \"runtimes\" is not a JSON object; fix it first", path)
	}
	return rts, nil
}

// editDockerConfig reads the JSON object in path (a missing or empty file
// is {}), lets edit change it and replaces the file atomically, keeping its
// mode. Numbers are kept exactly as written.
func editDockerConfig(path string, edit func(map[string]any) error) error {
	cfg := map[string]any{}
	mode := os.FileMode(0o644)
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return fmt.Errorf("reading %s: %w", path, err)
	default:
		if fi, err := os.Stat(path); err == nil {
			mode = fi.Mode().Perm()
		}
		if len(bytes.TrimSpace(data)) > 0 {
			dec := json.NewDecoder(bytes.NewReader(data))
			dec.UseNumber()
			if err := dec.Decode(&cfg); err != nil || dec.More() {
				if err == nil {
					err = errors.New("data after the JSON object")
				}
				return fmt.Errorf("%s is not a valid JSON object (%v): fix or remove it first; it was not changed", path, err)
			}
			if cfg == nil {
				return fmt.Errorf("%s is not a valid JSON object (null): fix or remove it first; it was not changed", path)
			}
		}
	}
	if err := edit(cfg); err != nil {
		return err
	}
	out, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("creating the directory of %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	_, err = tmp.Write(append(out, '\n'))
	if err == nil {
		err = tmp.Chmod(mode)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
