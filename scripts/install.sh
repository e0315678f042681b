#!/usr/bin/env bash
# Installs what Bulwark needs on Debian 12 and builds and installs runsc.
# Run as root from anywhere: ./scripts/install.sh
set -euo pipefail
cd "$(dirname "$0")/.."

die() { echo "install.sh: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root (it uses apt-get and installs /usr/local/bin/runsc)"
command -v apt-get >/dev/null || die "apt-get not found: this script supports Debian 12"

# build-essential: gcc and the static libc for the C test programs and
# benchmarks; busybox-static: the e2e tests' root filesystem; runc: the
# reference runtime of the benchmarks and harness tests; debootstrap: the
# Debian rootfs of the userland suite (test/userland); docker.io
# (with containerd, iptables, tini), podman (with conmon),
# containernetworking-plugins (podman's bridge network), catatonit (podman
# --init) and iproute2 (the private bridge of the test dockerd): the opt-in
# Docker and Podman suite (test/docker), which starts its own dockerd;
# wrk: the HTTP load generator of the nginx benchmark (test/benchmarks/nginx).
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends \
	build-essential busybox-static runc git ca-certificates debootstrap \
	docker.io podman containernetworking-plugins catatonit iproute2 wrk

export PATH="$PATH:/usr/local/go/bin"
command -v go >/dev/null ||
	die "go not found: install Go $(sed -n 's/^go //p' go.mod) to /usr/local/go (https://go.dev/dl/) and run this again"
go version

mkdir -p bin
# CGO_ENABLED=0: a static binary whose threads are all Go's, so the gofer
# and sandbox can drop capabilities and install seccomp filters process-wide.
CGO_ENABLED=0 go build -o bin/runsc ./runsc
install -m 0755 bin/runsc /usr/local/bin/runsc
echo "install.sh: installed /usr/local/bin/runsc"
