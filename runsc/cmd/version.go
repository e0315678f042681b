package cmd

import (
	"context"
	"flag"
	"fmt"
	"io"
	"runtime"

	"github.com/google/subcommands"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Version is runsc's version; release builds set it with
// -ldflags "-X bulwark.dev/runsc/cmd.Version=...".
var Version = "0.1.0-dev"

// PrintVersion writes what `runsc version` and `runsc --version` print.
func PrintVersion(w io.Writer) {
	fmt.Fprintf(w, "runsc version %s\nspec: %s\ngo: %s\n", Version, specs.Version, runtime.Version())
}

// VersionCmd implements `runsc version`.
type VersionCmd struct{}

// Name implements subcommands.Command.
func (*VersionCmd) Name() string { return "version" }

// Synopsis implements subcommands.Command.
func (*VersionCmd) Synopsis() string { return "print runsc's version and the OCI spec version" }

// Usage implements subcommands.Command.
func (*VersionCmd) Usage() string {
	return usageText("version", `
Prints runsc's version, the version of the OCI runtime spec it implements
and the Go version it was built with. "runsc --version" does the same.

Exit status: 0.
`)
}

// SetFlags implements subcommands.Command.
func (*VersionCmd) SetFlags(*flag.FlagSet) {}

// Execute implements subcommands.Command.
func (*VersionCmd) Execute(context.Context, *flag.FlagSet, ...any) subcommands.ExitStatus {
	PrintVersion(cliStdout)
	return subcommands.ExitSuccess
}
