// Package userland holds the end-to-end tests of a Debian userland under
// Bulwark (issue 3's acceptance list): bash, coreutils, find, tar and gzip,
// grep/sed/awk, python3 (threads, subprocess, multiprocessing, sqlite3,
// mmap, shared memory), perl and ps run in a Debian bookworm minbase root
// filesystem, and each test compares their output with the text they print
// under runc.
//
// They are part of the default `go test ./...` (scripts/test.sh). Run them
// alone, as root, with:
//
//	go test -count=1 ./test/userland
//
// The first run builds the root filesystem with debootstrap (install it
// with scripts/install.sh) from the Debian mirror of the host's APT sources
// (or $BULWARK_DEBIAN_MIRROR), which takes a few minutes; it is cached under
// <repo>/.cache/rootfs/debian-bookworm. Other flags, after -args:
//
//	-against-runc       run the tests against runc from $PATH, checking the
//	                    expectations themselves (they all pass there)
//	-runsc=PATH         test an already built runsc instead of building one
//	-cmd-timeout=DUR    limit for each runtime command (default 60s)
//
// For example, to check the tests against runc:
//
//	go test -count=1 ./test/userland -args -against-runc
package userland
