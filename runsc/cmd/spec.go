package cmd

import (
	"context"
	"flag"

	"bulwark.dev/pkg/specutils"
	"bulwark.dev/runsc/config"

	"github.com/google/subcommands"
)

// Spec implements `runsc spec`.
type Spec struct {
	Conf *config.Config

	bundle string
}

// Name implements subcommands.Command.
func (*Spec) Name() string { return "spec" }

// Synopsis implements subcommands.Command.
func (*Spec) Synopsis() string { return "write a default config.json for a new bundle" }

// Usage implements subcommands.Command.
func (*Spec) Usage() string {
	return usageWithFlags("spec [flags]", `
Writes runc's default OCI spec to <bundle>/config.json: process "sh" with
cwd "/", the read-only root filesystem "rootfs" (relative to the bundle),
runc's mounts, namespaces, capabilities and masked paths. One difference:
process.terminal is false, because runsc does not support terminals yet.

An existing config.json is never overwritten.

Example:
    mkdir -p bundle/rootfs/bin && cp /bin/busybox bundle/rootfs/bin/
    ln -s busybox bundle/rootfs/bin/sh && cd bundle && runsc spec
    runsc run demo

Exit status: 0 written, 1 error, 2 usage error.
`)
}

// SetFlags implements subcommands.Command.
func (s *Spec) SetFlags(f *flag.FlagSet) {
	f.StringVar(&s.bundle, "bundle", ".", "directory to write config.json into")
	f.StringVar(&s.bundle, "b", ".", "short for --bundle")
}

// Execute implements subcommands.Command.
func (s *Spec) Execute(_ context.Context, f *flag.FlagSet, _ ...any) subcommands.ExitStatus {
	if f.NArg() != 0 {
		return usageError(f, "takes no arguments, got %d", f.NArg())
	}
	sess, err := newSession(s.Conf, "", "spec")
	if err != nil {
		return failEarly(err)
	}
	defer sess.close()
	if err := specutils.WriteSpec(s.bundle, specutils.DefaultSpec()); err != nil {
		return sess.fail(err)
	}
	return subcommands.ExitSuccess
}
