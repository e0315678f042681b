// Package docker holds the Docker and Podman acceptance tests of issue 4:
// they drive the real docker and podman command-line tools, with Bulwark's
// runsc as the OCI runtime, through run (output, exit codes), run -d, logs,
// stop (SIGTERM, then SIGKILL after the timeout), rm, exec, top, stats,
// pause/unpause, a memory limit, run -it through a pseudo-terminal with ^C,
// and podman run, exec and stop; and the networking acceptance of issue 5
// (net_test.go): nginx in the Debian image answering curl from the host
// through `docker run -p`, a container reaching another at its bridge IP,
// `ip addr`/`ip route` showing eth0 with Docker's address, Docker's
// resolv.conf, hosts and hostname with getaddrinfo, and name resolution
// through the embedded DNS server of a user-defined network.
//
// TestMain builds runsc, registers it in a private daemon.json with `runsc
// install` as two runtimes, "runsc-none" (runtimeArgs --network=none) and
// "runsc" (no flags: Docker's bridge network; the tests using it need
// networking), and starts a private dockerd (its own --data-root,
// --exec-root, socket, pidfile and bridge device under a temporary
// directory; iptables on; storage driver overlay2) which it stops at the
// end. It imports two images: bulwark-busybox:test from the busybox root
// filesystem and bulwark-debian:test from the Debian bookworm one (built
// with debootstrap on first use, a few minutes, then cached under
// <repo>/.cache/rootfs). Podman runs with a private --root and --runroot
// (storage driver vfs).
//
// The suite is part of the default `go test ./...` (scripts/test.sh). It
// needs root and docker, dockerd and podman on $PATH (scripts/install.sh
// installs them); without them TestMain fails with a one-line message
// saying so, unless BULWARK_SKIP_DOCKER=1 is set, in which case it prints
// why the suite was skipped and exits 0. On its own:
//
//	go test -count=1 ./test/docker
//
// Everything it creates lives in a temporary directory /tmp/bwd-* and a
// private bridge bwd*, removed at the end, also when tests fail. If the
// test binary dies before that (a panic, -timeout, kill -9), the next run
// removes what it left: each run holds an flock on <dir>/run.lock while it
// lives, and setup first sweeps the directories of dead runs (their
// processes and mounts too) and the bwd* bridges no running dockerd uses,
// with the iptables rules that name them.
//
// Flags, after -args:
//
//	-against-runc         register runc (from $PATH) under both runtime names
//	                      and as podman's runtime, to check the tests
//	                      themselves (they all pass there)
//	-runsc=PATH           test an already built runsc instead of building one
//	-storage-driver=NAME  dockerd's storage driver (default overlay2)
//	-keep                 keep the temporary directory (daemon state, logs)
//
// Each runsc writes debug logs into the temporary directory; when a test
// fails, the logs written during it are printed.
package docker
