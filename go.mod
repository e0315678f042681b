module bulwark.dev

go 1.26.8

require (
	github.com/cenkalti/backoff/v4 v4.3.0
	github.com/gofrs/flock v0.13.1
	github.com/google/subcommands v1.2.0
	github.com/opencontainers/runtime-spec v1.2.0
	golang.org/x/net v0.62.0
	golang.org/x/sys v0.49.0
)
