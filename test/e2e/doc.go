// Package e2e holds the end-to-end tests of Bulwark: they build the runsc
// binary once, build a busybox root filesystem once (cached under
// <repo>/.cache/rootfs/busybox) and drive the binary as a user or a container
// engine would: run, the create/start/state/kill/wait/delete lifecycle,
// list, spec, do, and bad input. They must run as root:
//
//	go test -count=1 ./test/e2e
//	go test -count=1 ./test/e2e -args -runsc=/usr/local/bin/runsc
//
// The second form tests an already built binary instead of building one.
package e2e
