// Package testutil is the harness shared by the end-to-end tests and the
// benchmarks: it finds the repository, builds runsc, builds and caches a
// busybox root filesystem, writes OCI bundles and runs an OCI runtime binary
// (runsc or runc) with a timeout, capturing its output and exit status.
package testutil
